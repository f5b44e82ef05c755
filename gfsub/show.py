"""What gfsub's commands print: gfsub's own lines, to the terminal (third-party output goes to the log: quiet.py).

Off a terminal (CI, `| tee`, a log file) each message is one line: no wrapping, no colour, tables at their natural
width, so that a grep finds a whole verdict; `COLUMNS`, when set, still gives the width (`Console`).
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import rich.console
from rich.console import ConsoleDimensions
from rich.markup import escape
from rich.table import Table

UNBOUNDED = 100_000  # columns: the width of a stream that is not a terminal (no line of gfsub's is that long)


class Console(rich.console.Console):
    """A rich Console that wraps only on a terminal.

    Whether its stream is a terminal is asked of the stream it writes to, the user's own (while a command runs,
    quiet.py hands it a duplicate of the user's descriptor 1 or 2, whose 1 and 2 then point at the log). Written
    to a pipe or a file it has no width (tables keep their natural width) and soft-wraps (a printed line is never
    broken); rich already writes no colour or style codes there. `COLUMNS` (or a width given) keeps rich's own
    behaviour. On a terminal its width is that terminal's, even with descriptors 1/2 redirected.
    """

    @property
    def on_terminal(self) -> bool:
        """Whether the stream written to is a terminal (its isatty: FORCE_COLOR asks for colour, not for wrapping)."""
        isatty = getattr(self.file, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):  # closed
            return False

    def _width_given(self) -> bool:
        return self._width is not None or self._environ.get("COLUMNS", "").isdigit()

    @property
    def unbounded(self) -> bool:
        """Lines are not wrapped: the stream is not a terminal and no width was given (COLUMNS or width=)."""
        return not self._width_given() and not self.is_jupyter and not self.on_terminal

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self._width_given():
            return size
        if self.unbounded:
            return ConsoleDimensions(UNBOUNDED, size.height)
        if self.is_dumb_terminal:
            return size
        try:  # the terminal written to (rich asks descriptors 0-2, which quiet.py may have sent to the log)
            columns = os.get_terminal_size(self.file.fileno()).columns
        except (AttributeError, ValueError, OSError):
            return size
        return ConsoleDimensions(columns - self.legacy_windows, size.height) if columns else size

    @size.setter
    def size(self, new_size: tuple) -> None:
        self._width, self._height = new_size

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or self.unbounded

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


console = Console()
errors = Console(stderr=True)


def announce_runtime(spec) -> None:
    """Told when a runtime's venv is about to be made (it takes a while, once)."""
    packages = ", ".join(spec.requirements) or "no packages"
    console.print(f"creating runtime {spec.name} (Python {spec.python}: {packages}), once; it is cached for later runs")


def error_line(label: str, message: str) -> None:
    errors.print(f"[bold red]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


# ----- build --------------------------------------------------------------------------------------------------
def model_code_line(result) -> str:
    """What of the model file's own code ran, and where ('' when none did)."""
    where = "UNSANDBOXED" if result.unsandboxed else "in the sandbox"
    if result.source.format == "pt2":
        return f"loaded the file with torch (torch.export.load) {where}"
    if result.parity is not None and result.model.graph.assumed:
        return f"ran the model's own Lambda code ({', '.join(result.model.graph.assumed)}) {where}"
    return ""


def build_summary(result) -> None:
    """The build's summary table, the per-runtime parity table and the file written."""
    table = Table(show_header=False, box=None)
    from builder.render import describe_observation

    rows = [
        ("source", f"{result.source.path} ({result.source.format}, sha256 {result.source.sha256[:12]}...)"),
        ("architecture", f"{result.description} (from {result.model.origin})"),
        ("parameters", f"{result.n_params:,}"),
        ("observation", f"{describe_observation(result.observation, result.encoder)} ({result.observation_origin})"),
        ("action", action_line(result)),
        *([("state", result.shell.describe_state())] if result.shell is not None else []),
        *([("model code", model_code_line(result))] if model_code_line(result) else []),
        ("backend", f"{result.backend}, weights stored as {result.weights_dtype}"),
        ("weights blob", f"{result.blob_chars / 1e6:.1f} MB base64"),
        ("main.py", f"{result.output} ({result.main_py_bytes / 1e6:.1f} MB)"),
        ("parity", result.parity.summary() if result.parity else "not checked"),
        ("reference", result.parity.reference if result.parity else "-"),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)
    if result.parity is not None and result.parity.runtimes:
        console.print(runtime_parity_table(result.parity.runtimes))
    console.print(f"[bold green]wrote {escape(str(result.output))}[/]")


def action_line(result) -> str:
    """How main.py picks its action: the encoder's decide(), or the argmax of the chosen output."""
    if result.encoder is not None and result.encoder.has_decide:
        return (f"decide(outputs, obs) of {result.encoder.path.name}; values recorded: output "
                f"'{result.output_name}' (its first 19)")
    return f"argmax of output '{result.output_name}' ({result.output_kind})"


def runtime_parity_table(rows: list) -> Table:
    """One row per target runtime: the verify match's observations replayed through main.py there."""
    table = Table(title="main.py in each target runtime (the verify match replayed there)",
                  caption="step 1 = loading main.py + its first step, in s; p50/p99 of later steps in ms")
    for column in ("runtime", "versions", "step 1", "p50", "p99", "agreement", "max |dQ|"):
        table.add_column(column, justify="left" if column in ("runtime", "versions") else "right")
    for row in rows:
        table.add_row(row.runtime, escape(row.versions), f"{row.step1:.2f}", f"{row.p50 * 1e3:.2f}",
                      f"{row.p99 * 1e3:.2f}", f"{row.agreement:.2%}", f"{row.max_abs_dq:.1e}")
    return table


# ----- check --------------------------------------------------------------------------------------------------
def check_report(report, run_dir: Path) -> None:
    """The check's match table, failures with the agent's stderr, W/D/L, coverage and the verdict."""
    slowdown = report.config.slowdown
    table = Table(title="matches", caption=f"step1, overage and proj (a full match at {slowdown:g}x slower, vs the "
                  "60 s pool) in s; p50/p99/max of steps 2.. in ms")
    for column in ("#", "side", "score", "status", "step1", "p50", "p99", "max", "overage", "proj"):
        table.add_column(column, justify="right")
    for match in report.matches:
        t = match.timing
        table.add_row(str(match.index), match.side, f"{match.score[0]}-{match.score[1]}", match.status,
                      f"{t.step1:.2f}", f"{t.p50 * 1e3:.2f}", f"{t.p99 * 1e3:.2f}", f"{t.max * 1e3:.1f}",
                      f"{t.overage_used:.2f}", f"{t.projected_overage:.1f}")
    console.print(table)
    for match in report.matches:
        if match.stderr and match.status != "DONE":
            console.print(f"[bold red]match {match.index} {match.status}[/]: agent stderr (last lines):")
            console.print(escape("\n".join(match.stderr.strip().splitlines()[-15:])), highlight=False)
        if match.status != "DONE" and match.episode:
            console.print(f"  replay it step by step: gfsub replay {escape(match.episode)} "
                          f"{escape(report.config.main_py)}", highlight=False)
    overheads = [m.runtime_overhead_p50 for m in report.matches if m.runtime_overhead_p50 is not None]
    console.print(f"runtime: {escape(report.runtime.sentence())}"
                  + (f"; pipe round trip p50 {max(overheads) * 1e3:.2f} ms per step (inside the timings)"
                     if overheads else ""))
    console.print(f"W/D/L {report.record.sentence()}")
    for forfeits, label in ((report.forfeits.candidate, "forfeited by main.py (counted as losses)"),
                            (report.forfeits.opponent, "forfeited by the opponent (counted as wins)")):
        if forfeits:
            console.print(f"{label}: {escape(', '.join(forfeits))}")
    cover = report.coverage
    console.print(f"coverage: {escape(cover.sentence())} — "
                  + ("[green]release grade[/]" if cover.release_grade else
                     "[yellow]not release grade[/] (`gfsub package` needs " + escape("; ".join(cover.lacks)) + ")"))
    colour = {"PASS": "green", "INTERRUPTED": "yellow"}.get(report.verdict, "red")
    console.print(f"[bold {colour}]{report.verdict}[/] — report: {escape(str(run_dir / 'report.json'))}")
    if report.verdict != "PASS":
        for reason in report.reasons:
            console.print(f"  - {escape(reason)}")


# ----- replay -------------------------------------------------------------------------------------------------
def replay_report(report, path: Path) -> None:
    """What was replayed, the step times, the verdict spelled out, and where the report is."""
    from harness.episode import SIDES
    from harness.replay import DIFFERS, REPRODUCED
    from harness.timing import step_timing

    t = step_timing([step.seconds for step in report.steps])
    console.print(f"replay: side {report.side} ({SIDES[report.side]}) of {escape(report.episode)} "
                  f"({escape(report.episode_statuses)}); main.py in {escape(report.runtime)}, "
                  f"{escape(report.isolation)}", highlight=False)
    console.print(f"played {len(report.steps):,} of {report.recorded_steps:,} recorded steps: step 1 {t.step1:.2f} s, "
                  f"p50 {t.p50 * 1e3:.2f} ms, p99 {t.p99 * 1e3:.2f} ms; overage pool left "
                  f"{report.overage_left:.2f} s", highlight=False)
    colour = {REPRODUCED: "red", DIFFERS: "yellow"}.get(report.verdict, "green")
    console.print(f"[bold {colour}]{escape(report.sentence)}[/]", highlight=False)
    console.print(f"report: {escape(str(path))}", highlight=False)


# ----- league -------------------------------------------------------------------------------------------------
def league_report(report, run_dir: Path) -> None:
    """Standings (rating ± uncertainty, conservative score), the pairwise table, forfeits and void matches."""
    table = Table(title="standings", caption="rating ± uncertainty (openskill); ranked by the conservative score "
                  "rating - 3 x uncertainty")
    for column in ("#", "participant", "rating", "conservative", "played", "W", "D", "L", "goals", "forfeits"):
        table.add_column(column, justify="left" if column == "participant" else "right")
    for rank, standing in enumerate(report.standings, start=1):
        table.add_row(str(rank), escape(standing.name), f"{standing.rating:.1f}±{standing.uncertainty:.1f}",
                      f"{standing.conservative:.1f}", str(standing.played), str(standing.wins), str(standing.draws),
                      str(standing.losses), f"{standing.goals_for}-{standing.goals_against}",
                      str(len(standing.forfeits)))
    console.print(table)
    pairs = Table(title="pairs", caption="from the first participant's side; win rate with its 95% Wilson interval")
    for column in ("participant", "opponent", "played", "W/D/L", "goal diff", "win rate (95% CI)"):
        pairs.add_column(column, justify="left" if column in ("participant", "opponent") else "right")
    for record in report.pairs:
        low, high = record.win_rate_95ci
        pairs.add_row(escape(record.a), escape(record.b), str(record.played),
                      f"{record.wins}/{record.draws}/{record.losses}", f"{record.goal_difference:+d}",
                      f"{record.win_rate:.0%} ({low:.0%}-{high:.0%})")
    console.print(pairs)
    for standing in report.standings:
        if standing.forfeits:
            console.print(f"forfeits of {escape(standing.name)} (each a lost match): "
                          f"{escape(', '.join(standing.forfeits))}")
    for line in report.void:
        console.print(f"void, not rated: {escape(line)}")
    console.print(f"agents: {escape(report.isolation)}")
    path = escape(str(run_dir / "report.json"))
    if report.interrupted:
        console.print(f"[bold yellow]INTERRUPTED[/] after {report.finished} of {report.total} matches — continue "
                      f"with --resume — report: {path}")
    else:
        console.print(f"[bold green]league complete[/]: {report.finished} matches — report: {path}")


# ----- while matches play -------------------------------------------------------------------------------------
@contextmanager
def live_progress() -> Iterator:
    """A progress line while matches play: matches done/total, engine steps/s across running matches, ETA."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.progress import StepCounter

    columns = (TextColumn("[bold]matches"), BarColumn(), TextColumn("{task.fields[matches]}"),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("{task.fields[eta]}"))
    with Progress(*columns, console=console, refresh_per_second=2) as bar:
        task = bar.add_task("matches", total=None, matches="", rate="", eta="")

        class BarWatcher(StepCounter):
            def _show(self) -> None:
                eta = self.eta_seconds()
                bar.update(task, total=self.total_steps or None, completed=self.played_steps,
                           matches=f"{self.done}/{self.total_matches} done, {self.running} playing",
                           rate=f"{self.steps_per_second():.0f} steps/s",
                           eta=f"ETA {duration(eta)}" if eta is not None and self.played_steps else "")

            def started(self, specs: list) -> None:
                super().started(specs)
                self._show()

            def progress(self, index: int, steps: int) -> None:
                super().progress(index, steps)
                self._show()

            def finished(self, result) -> None:
                super().finished(result)
                self._show()

        yield BarWatcher()


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400 else \
        f"{seconds / 3600:.1f} h"
