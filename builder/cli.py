"""`gfsub` command line: build (and print the default architecture for --arch files)."""

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent_runtime.architecture import Architecture
from builder.errors import GfsubError, InternalError, OptionValueError, UnsupportedArchitectureError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn trained SplitterConvNN weights into a verified Kaggle football main.py.")
console = Console()
errors = Console(stderr=True)
VERBOSE = {"on": os.environ.get("GFSUB_VERBOSE", "") not in ("", "0")}


@app.callback()
def options(verbose: Annotated[bool, typer.Option("--verbose", help="Show third-party output too (TensorFlow, "
                                                  "gym, kaggle-environments); otherwise it goes to a log file.")]
            = False) -> None:
    VERBOSE["on"] = VERBOSE["on"] or verbose


def quiet():
    """Third-party chatter to the log while a command runs; gfsub's own lines to the terminal."""
    from builder.quiet import third_party_to_log

    return third_party_to_log([console, errors], VERBOSE["on"])


EXIT_BAD_INPUT = 2  # the user's input: the message says what to fix
EXIT_INTERNAL = 3  # a gfsub bug: the message asks for a report
EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM: finished matches are kept, --resume continues


def fail(error: GfsubError) -> NoReturn:
    """The one-line error, and the exit code of its category."""
    label = "internal error" if isinstance(error, InternalError) else "error"
    errors.print(f"[bold red]{label}:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_INTERNAL if isinstance(error, InternalError) else EXIT_BAD_INPUT)


@contextmanager
def handled() -> Iterator[None]:
    """Every command's errors, one way: gfsub's own errors as one line and an exit code, nothing else caught."""
    try:
        yield
    except GfsubError as error:
        fail(error)


WeightsArg = Annotated[Path, typer.Argument(
    help="Trained weights: .keras, .h5, .weights.h5, SavedModel dir, .npz, zlib-pickled get_weights().")]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="Where to write main.py.")]
ArchOpt = Annotated[Path | None, typer.Option("--arch", help="Architecture JSON for weights-only formats "
                                                              "(see `gfsub arch`).")]
FallbackOpt = Annotated[int, typer.Option("--fallback-action", help="Action played if the model ever errors.")]
VerifyStepsOpt = Annotated[int, typer.Option("--verify-steps", help="Engine steps played to check parity.")]
BackendOpt = Annotated[str, typer.Option("--backend", help="numpy (no TensorFlow in main.py; default) or keras.")]
DtypeOpt = Annotated[str, typer.Option("--weights-dtype", help="float32, or float16 for a main.py half the size.")]
TargetOpt = Annotated[str, typer.Option("--target", help="Runtimes main.py must play identically in, comma-separated "
                                                         "(see `gfsub runtime list`).")]
DEFAULT_TARGETS = "kaggle-2020,current"


def announce_runtime(spec) -> None:
    packages = ", ".join(spec.requirements) or "no packages"
    console.print(f"creating runtime {spec.name} (Python {spec.python}: {packages})"
                  ", once; it is cached for later runs")


@app.command()
def build(
    weights: WeightsArg,
    output: OutputOpt = Path("main.py"),
    arch: ArchOpt = None,
    fallback_action: FallbackOpt = 0,
    verify_steps: VerifyStepsOpt = 300,
    backend: BackendOpt = "numpy",
    weights_dtype: DtypeOpt = "float32",
    target: TargetOpt = DEFAULT_TARGETS,
) -> None:
    """Load, validate, render, and verify on the real engine and in every target runtime; write main.py only if
    it plays like the model everywhere."""
    run_build(weights, output, arch=arch, fallback_action=fallback_action, verify_steps=verify_steps, backend=backend,
              weights_dtype=weights_dtype, targets=target)


def run_build(weights: Path, output: Path, *, arch: Path | None = None, fallback_action: int = 0,
              verify_steps: int = 300, backend: str = "numpy", weights_dtype: str = "float32",
              targets: str = DEFAULT_TARGETS) -> None:
    """Build and print the summary table; bad input -> one-line error and exit code 2."""
    from builder.pipeline import build

    with handled():
        with quiet(), console.status("building and verifying main.py on the gfootball engine and in each target "
                                     "runtime..."):
            result = build(weights, output, arch_file=arch, fallback_action=fallback_action, verify_steps=verify_steps,
                           backend=backend, weights_dtype=weights_dtype, targets=targets,
                           on_runtime_create=announce_runtime)
    table = Table(show_header=False, box=None)
    rows = [
        ("source", f"{result.source.path} ({result.source.format}, sha256 {result.source.sha256[:12]}...)"),
        ("architecture", f"{result.arch.describe()} (from {result.arch_origin})"),
        ("parameters", f"{result.arch.n_params():,}"),
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


@app.command()
def check(
    main_py: Annotated[Path, typer.Argument(help="The main.py to check.")],
    matches: Annotated[int, typer.Option("--matches", help="Matches to play; the side alternates.")] = 2,
    steps: Annotated[int, typer.Option("--steps", help="Steps per match (3002 is Kaggle's).")] = 3002,
    opponent: Annotated[str, typer.Option("--opponent", help="engine, do_nothing, run_right, self, or a main.py.")
                        ] = "engine",
    jobs: Annotated[int | None, typer.Option("--jobs", help="Matches in parallel (default: cores).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Engine seed of match 0 (match i uses seed + i).")] = 0,
    slowdown: Annotated[float, typer.Option("--slowdown", help="Margin for Kaggle's slower machines.")] = 2.0,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Default: runs/<sha256[:12]>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    match_timeout: Annotated[float | None, typer.Option("--match-timeout", help="Wall seconds before a match "
                                                        "counts as hung.")] = None,
    replay: Annotated[bool, typer.Option("--replay/--no-replay", help="Save HTML replays.")] = True,
    runtime: Annotated[str, typer.Option("--runtime", help="Where the candidate runs: current (this interpreter), "
                                         "or a runtime of `gfsub runtime list`, in its own process.")] = "current",
) -> None:
    """Play real matches with kaggle-environments; exit 0 only if main.py would not forfeit or run out of time."""
    report = play_and_show(lambda: _play_check(main_py, matches, steps, opponent, seed, slowdown, match_timeout,
                                               jobs, replay, runtime, run_dir, resume), print_report)
    sys.exit(0 if report.verdict == "PASS" else 1)


def play_and_show(play, show):
    """Run `play() -> (run_dir, report)` quietly, then `show(report, run_dir)` and write report.html; an
    interrupted run is shown the same way and exits 130. -> the report."""
    from harness.pools import RunInterrupted

    with handled():
        try:
            with quiet():
                run_dir, report = play()
        except RunInterrupted as stop:
            show(stop.report, stop.run_dir)
            print_html_report(stop.run_dir)
            sys.exit(EXIT_INTERRUPTED)
    show(report, run_dir)
    print_html_report(run_dir)
    return report


def _play_check(main_py: Path, matches: int, steps: int, opponent: str, seed: int, slowdown: float,
                match_timeout: float | None, jobs: int | None, replay: bool, runtime: str, run_dir: Path | None,
                resume: bool) -> tuple:
    """Validate the options, make the runtime if needed, play the matches with live progress; -> (run_dir, report)."""
    from builder.runtimes import ensure_runtime, get_spec
    from harness.check import make_config, run_check

    config = make_config(main_py, matches=matches, steps=steps, opponent=opponent, seed=seed, slowdown=slowdown,
                         match_timeout=match_timeout, jobs=jobs, replay=replay, runtime=runtime)
    ensure_runtime(get_spec(runtime), on_create=announce_runtime)
    run_dir = run_dir or Path("runs") / config.main_py_sha256[:12]
    with live_progress() as watcher:
        return run_dir, run_check(config, run_dir, resume=resume, watcher=watcher)


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
                           eta=f"ETA {_duration(eta)}" if eta is not None and self.played_steps else "")

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


def print_html_report(run_dir: Path) -> None:
    """Write report.html for the run and print its path (the last line of check and league)."""
    from harness.html_report import rebuild

    with quiet():
        path = rebuild(run_dir)
    console.print(f"html report: {escape(str(path))}")


@app.command("report")
def report_command(run_dir: Annotated[Path, typer.Argument(help="The --run-dir of a check or league run.")]) -> None:
    """(Re)write report.html of a check or league run directory from its results, older runs included."""
    with handled():
        print_html_report(run_dir)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400 else \
        f"{seconds / 3600:.1f} h"


def print_report(report, run_dir: Path) -> None:
    """The check's match table, failures with the agent's stderr, W/D/L, coverage and the verdict."""
    slowdown = report.config["slowdown"]
    table = Table(title="matches", caption=f"step1, overage and proj (a full match at {slowdown:g}x slower, vs the "
                  "60 s pool) in s; p50/p99/max of steps 2.. in ms")
    for column in ("#", "side", "score", "status", "step1", "p50", "p99", "max", "overage", "proj"):
        table.add_column(column, justify="right")
    for match in report.matches:
        t = match.timing
        table.add_row(str(match.index), match.side, f"{match.score[0]}-{match.score[1]}", match.status,
                      f"{t['step1']:.2f}", f"{t['p50'] * 1e3:.2f}", f"{t['p99'] * 1e3:.2f}", f"{t['max'] * 1e3:.1f}",
                      f"{t['overage_used']:.2f}", f"{t['projected_overage']:.1f}")
    console.print(table)
    for match in report.matches:
        if match.stderr and match.status != "DONE":
            console.print(f"[bold red]match {match.index} {match.status}[/]: agent stderr (last lines):")
            console.print(escape("\n".join(match.stderr.strip().splitlines()[-15:])), highlight=False)
    overheads = [m.runtime_overhead_p50 for m in report.matches if m.runtime_overhead_p50 is not None]
    console.print(f"runtime: {escape(report.runtime['name'])} ({escape(report.runtime['versions'])})"
                  + (f"; pipe round trip p50 {max(overheads) * 1e3:.2f} ms per step (inside the timings)"
                     if overheads else ""))
    low, high = report.win_rate_95ci
    console.print(f"W/D/L {report.wins}/{report.draws}/{report.losses}, goal difference "
                  f"{report.goal_difference:+d}, win rate {report.win_rate:.0%} (95% CI {low:.0%}-{high:.0%})")
    for who, label in (("candidate", "forfeited by main.py (counted as losses)"),
                       ("opponent", "forfeited by the opponent (counted as wins)")):
        if report.forfeits[who]:
            console.print(f"{label}: {escape(', '.join(report.forfeits[who]))}")
    cover = report.coverage
    sides = " and ".join(cover.sides) or "no side"
    console.print(f"coverage: {cover.matches} match(es), {sides}, {cover.steps} of {cover.full_match_steps} steps, "
                  f"vs {escape(Path(cover.opponent).name)}, runtime {escape(cover.runtime)} — "
                  + ("[green]release grade[/]" if cover.release_grade else
                     "[yellow]not release grade[/] (`gfsub package` needs " + escape("; ".join(cover.lacks)) + ")"))
    report_path = escape(str(run_dir / "report.json"))
    colour = {"PASS": "green", "INTERRUPTED": "yellow"}.get(report.verdict, "red")
    console.print(f"[bold {colour}]{report.verdict}[/] — report: {report_path}")
    if report.verdict != "PASS":
        for reason in report.reasons:
            console.print(f"  - {escape(reason)}")


@app.command()
def league(
    participants: Annotated[list[str], typer.Argument(help="main.py files (or their folders), and the built-ins "
                                                      "do_nothing / run_right.")],
    engine: Annotated[bool, typer.Option("--engine", help="Add the engine's own AI as a participant.")] = False,
    matches_per_pair: Annotated[int, typer.Option("--matches-per-pair", help="Matches each pair plays; sides "
                                                  "alternate.")] = 4,
    steps: Annotated[int, typer.Option("--steps", help="Steps per match (3002 is Kaggle's).")] = 3002,
    scenario: Annotated[str, typer.Option("--scenario", help="gfootball scenario.")] = "11_vs_11_kaggle",
    jobs: Annotated[int | None, typer.Option("--jobs", help="Matches in parallel on this machine (default: "
                                             "cores).")] = None,
    ray_address: Annotated[str | None, typer.Option("--ray", help="Play on a Ray cluster instead: its address, or "
                                                    "auto.")] = None,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Default: runs/league-<settings hash>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted league.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Engine seed of match 0 (match i uses seed + i).")] = 0,
    runtime: Annotated[str, typer.Option("--runtime", help="Where the main.py participants run (see `gfsub "
                                         "runtime list`).")] = "current",
) -> None:
    """Round robin between candidates: openskill ratings, a pairwise W/D/L table with 95% intervals, forfeits
    named. Each match in its own process, locally or on a Ray cluster."""
    play_and_show(lambda: _play_league(participants, engine, matches_per_pair, steps, scenario, jobs, ray_address,
                                       run_dir, resume, seed, runtime), print_league_report)


def _play_league(given: list, engine: bool, matches_per_pair: int, steps: int, scenario: str, jobs: int | None,
                 ray_address: str | None, run_dir: Path | None, resume: bool, seed: int, runtime: str) -> tuple:
    """Check everything, then play with live progress; -> (run_dir, report)."""
    import hashlib
    from dataclasses import asdict

    from builder.runtimes import ensure_runtime, get_spec
    from harness.league import make_league_config, run_league
    from harness.participants import resolve_participants
    from harness.pools import LocalPool

    python = ensure_runtime(get_spec(runtime), on_create=announce_runtime).python  # participants load there
    config = make_league_config(resolve_participants(given, engine, python), matches_per_pair=matches_per_pair,
                                steps=steps, scenario=scenario, seed=seed, runtime=runtime, jobs=jobs)
    if ray_address is not None:
        from harness.ray_pool import RayPool

        pool = RayPool(ray_address, match_timeout=config.match_timeout)
    else:
        jobs = jobs or os.cpu_count() or 1
        # One thread per process: a league match runs the engine and two agent processes, and throughput is what
        # counts here (multi-threaded BLAS in three processes on a few cores only spins).
        pool = LocalPool(jobs=jobs, match_timeout=config.match_timeout, threads=1)
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    run_dir = run_dir or Path("runs") / f"league-{digest[:12]}"
    console.print(f"league: {len(config.participants)} participants, {config.total_matches} matches "
                  f"({matches_per_pair} per pair, {steps} steps) on {escape(pool.describe())}")
    with live_progress() as watcher:
        return run_dir, run_league(config, run_dir, pool, resume=resume, watcher=watcher)


def print_league_report(report, run_dir: Path) -> None:
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
    path = escape(str(run_dir / "report.json"))
    if report.interrupted:
        console.print(f"[bold yellow]INTERRUPTED[/] after {report.finished} of {report.total} matches — continue "
                      f"with --resume — report: {path}")
    else:
        console.print(f"[bold green]league complete[/]: {report.finished} matches — report: {path}")


@app.command("package")
def package_command(
    main_py: Annotated[Path, typer.Argument(help="A main.py that passed `gfsub check`.")],
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("submission.tar.gz"),
    include: Annotated[list[Path] | None, typer.Option("--include", help="Extra file for the archive root.")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where check reports are looked for.")] = Path("runs"),
    force: Annotated[bool, typer.Option("--force", help="Package even without a PASS report.")] = False,
    max_size: Annotated[int, typer.Option("--max-size", help="Size limit in bytes (Kaggle: 100 MB).")
                        ] = 100 * 1024 * 1024,
) -> None:
    """Write a reproducible submission.tar.gz with main.py at its root, only for a checked main.py."""
    from builder.package import package

    with handled():
        with quiet():
            result = package(main_py, output, tuple(include or ()), runs_dir, force, max_size)
    if result.forced:
        errors.print("[bold yellow]WARNING: --force: this main.py has NOT passed a release-grade `gfsub check` (both "
                     "sides, full-length matches against the engine AI); it may forfeit on Kaggle.[/]")
    console.print(f"[bold green]wrote {escape(str(result.output))}[/] ({result.size / 1e6:.1f} MB: "
                  f"{', '.join(result.entries)}); loads with kaggle-environments' loader"
                  + (f"; checked by {escape(str(result.report))}" if result.report else ""))


runtime_app = typer.Typer(no_args_is_help=True, help="Target runtimes: interpreters + pinned packages, cached venvs.")
app.add_typer(runtime_app, name="runtime")


@runtime_app.command("list")
def runtime_list() -> None:
    """Show every runtime, where it is defined, and whether it is ready."""
    from builder.runtimes import get_runtime, load_specs

    with handled():
        specs = load_specs()
    table = Table()
    for column in ("runtime", "python", "packages", "backends", "ready"):
        table.add_column(column)
    for spec in specs.values():
        runtime = get_runtime(spec)
        ready = f"[green]yes[/] ({escape(runtime.describe())})" if runtime else "no: `gfsub runtime create " + \
            f"{spec.name}`"
        table.add_row(spec.name, spec.python, escape(" ".join(spec.requirements)) or "-", ", ".join(spec.backends),
                      ready)
    console.print(table)


@runtime_app.command("create")
def runtime_create(
    names: Annotated[list[str] | None, typer.Argument(help="Runtimes to create (default: all).")] = None,
    python: Annotated[Path | None, typer.Option("--python", help="Interpreter to use (one runtime only).")] = None,
) -> None:
    """Create (or update) runtime venvs in the cache; ones already up to date are left alone."""
    from builder.runtimes import ensure_runtime, get_spec, load_specs

    with handled():
        specs = [get_spec(name) for name in names] if names else list(load_specs().values())
        if python is not None and len(specs) != 1:
            raise OptionValueError(python, "--python applies to one runtime", "name exactly one runtime with --python")
        for spec in specs:
            with quiet():
                runtime = ensure_runtime(spec, str(python) if python else None, on_create=announce_runtime)
            console.print(f"{spec.name}: ready ({escape(runtime.describe())})")


@runtime_app.command("remove")
def runtime_remove(name: Annotated[str, typer.Argument(help="Runtime whose venv to delete.")]) -> None:
    """Delete a runtime's cached venv (it is made again when next needed)."""
    from builder.runtimes import get_spec, remove_runtime

    with handled():
        removed = remove_runtime(get_spec(name))
    console.print(f"{name}: " + ("removed" if removed else "nothing to remove"))


@app.command("arch")
def show_architecture(
    source: Annotated[Path | None, typer.Option("--from", help="Weights whose architecture to infer from their "
                                                "shapes (or read from their file).")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write arch-N.json when several variants "
                                          "fit.")] = Path("."),
) -> None:
    """Print the default (reference notebook) architecture as JSON, a template for --arch; with --from, the
    architecture of those weights (several fitting variants are written as arch-1.json, arch-2.json, ...)."""
    if source is None:
        json.dump(Architecture().to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from builder.load import load_weights
    from builder.shapes import describe_variant, infer_architectures

    with handled():
        with quiet():
            weights = load_weights(source)
        if weights.arch is not None:
            found = [weights.arch]
        else:
            arrays = weights.ordered or [a for arrays in (weights.named or {}).values() for a in arrays]
            found = infer_architectures(arrays)
        if not found:
            raise UnsupportedArchitectureError(source, "no known variant of the notebook's network fits these "
                                               "weight shapes", "write the --arch file by hand: `gfsub arch` "
                                               "prints a template")
    if len(found) == 1:
        json.dump(found[0].to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, arch in enumerate(found, start=1):
        path = out_dir / f"arch-{index}.json"
        path.write_text(json.dumps(arch.to_dict(), indent=2) + "\n")
        console.print(f"{escape(str(path))}: {escape(describe_variant(arch))}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
