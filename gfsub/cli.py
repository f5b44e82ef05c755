"""`gfsub`: build, check, league, package, report, runtime, arch — and the one error handler under them all.

Every command runs inside `handled()`: a gfsub error is one line and the exit code of its category (2), a
bug is one line naming the log that holds its traceback (exit 3), Ctrl-C is exit 130.
"""

import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from common.errors import GfsubError, InternalError, OptionValueError, UnsupportedArchitectureError
from gfsub.show import announce_runtime, console, error_line, errors, live_progress

EXIT_INTERRUPTED = 130  # Ctrl-C / SIGTERM: finished matches are kept, --resume continues
VERBOSE = {"on": os.environ.get("GFSUB_VERBOSE", "") not in ("", "0")}


# click's own exceptions (usage errors, --help, a plain exit), and those of the click that typer 0.2x carries inside
# (typer._click), whose base is typer.TyperException: they end the command as click means them to.
CLICKS_OWN = (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, typer.Exit, typer.Abort,
              *((typer.TyperException,) if hasattr(typer, "TyperException") else ()))


@contextmanager
def handled() -> Iterator[None]:
    """The one handler: whatever the block raises ends in one line and the exit code of its category."""
    try:
        yield
    except CLICKS_OWN:
        raise  # click's own: usage errors (exit 2), --help, a plain exit
    except GfsubError as error:
        fail(error)
    except KeyboardInterrupt:
        error_line("interrupted", "stopped by Ctrl-C")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback in the log
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        fail(InternalError(None, f"{type(exc).__name__}: {first}".rstrip(": "), log=write_traceback()))


class Handled(TyperGroup):
    """Every command runs inside `handled()`."""

    def invoke(self, ctx: click.Context):
        with handled():
            return super().invoke(ctx)


def fail(error: GfsubError) -> None:
    """The one-line error, and the exit code of its category."""
    error_line("internal error" if isinstance(error, InternalError) else "error", error.message)
    sys.exit(error.exit_code)


def write_traceback() -> Path:
    """Append the exception being handled to the command's log; -> the log (a temporary file if the cache
    folder cannot hold it)."""
    import tempfile

    from common.cache import log_path

    text = traceback.format_exc()
    for path in (log_path(), Path(tempfile.gettempdir()) / "gfsub-last-error.log"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as log:
                log.write("\n" + text)
            return path
        except OSError:
            continue
    return log_path()


app = typer.Typer(cls=Handled, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Turn a trained Keras model into a verified Kaggle football main.py, check it, rate it.")


@app.callback()
def options(verbose: Annotated[bool, typer.Option("--verbose", help="Show third-party output too (TensorFlow, "
                                                  "gym, kaggle-environments); otherwise it goes to a log file.")]
            = False) -> None:
    VERBOSE["on"] = VERBOSE["on"] or verbose


def quiet():
    """Third-party chatter to the log while a command runs; gfsub's own lines to the terminal."""
    from gfsub.quiet import third_party_to_log

    return third_party_to_log([console, errors], VERBOSE["on"])


# ----- build --------------------------------------------------------------------------------------------------
WeightsArg = Annotated[Path, typer.Argument(
    help="The trained model: .keras, .h5, SavedModel dir, .onnx; or weights: .weights.h5, .npz, zlib-pickled "
         "get_weights(), an old main.py.")]
OutputOpt = Annotated[Path, typer.Option("-o", "--out", help="Where to write main.py.")]
ArchOpt = Annotated[Path | None, typer.Option("--arch", help="For weights-only files: the model's own JSON "
                                                              "(model.to_json()), or a SplitterConvNN JSON "
                                                              "(`gfsub arch`).")]
ObservationOpt = Annotated[str | None, typer.Option("--observation", help="SPEC[,SPEC...], one per model input: "
                                                    "smm|simple115|simple115v2[:scale=S][:diff][:stack=K]"
                                                    "[:fill=first|zeros].")]
EncoderOpt = Annotated[Path | None, typer.Option("--encoder", help="Your own feature code: a Python file that "
                                                 "defines encode(obs) (and reset(), decide(outputs, obs)).")]
ModelOutputOpt = Annotated[str | None, typer.Option("--output", help="For a model with several outputs: the one "
                                                    "whose argmax is the action, or whose first 19 values decide() "
                                                    "is recorded with (its name).")]
StateOpt = Annotated[str | None, typer.Option("--state", help="Recurrent state: IN=OUT[,IN=OUT...], each input "
                                              "fed the paired output of the step before (zeros at a new match); "
                                              "none when your encoder carries it. Default: inferred by shape.")]
FallbackOpt = Annotated[int, typer.Option("--fallback-action", help="Action played if the model ever errors.")]
VerifyStepsOpt = Annotated[int, typer.Option("--verify-steps", help="Engine steps played to check parity.")]
BackendOpt = Annotated[str, typer.Option("--backend", help="numpy (no TensorFlow in main.py; default) or keras.")]
DtypeOpt = Annotated[str, typer.Option("--weights-dtype", help="float32, or float16 for a main.py half the size.")]
AgentMemoryOpt = Annotated[str, typer.Option("--agent-memory", help="Memory each file agent's sandbox may use "
                                            "(Kaggle's agent container: 4G).")]
AgentCpusOpt = Annotated[float, typer.Option("--agent-cpus", help="CPUs each file agent's sandbox may use "
                                             "(Kaggle's: 1).")]
NoSandboxOpt = Annotated[bool, typer.Option("--no-sandbox", help="Play file agents unsandboxed, with your rights "
                                            "(only where no sandbox can be made; reports say so).")]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Runtimes main.py must play identically in, "
                                                                "comma-separated (see `gfsub runtime list`).")]


@app.command()
def build(
    weights: WeightsArg,
    output: OutputOpt = Path("main.py"),
    arch: ArchOpt = None,
    observation: ObservationOpt = None,
    encoder: EncoderOpt = None,
    model_output: ModelOutputOpt = None,
    state: StateOpt = None,
    fallback_action: FallbackOpt = 0,
    no_sandbox: Annotated[bool, typer.Option("--no-sandbox", help="Run the source model's own code (its Lambda "
                                             "layers) unsandboxed, with your rights (only where no sandbox can be "
                                             "made; the summary says so).")] = False,
    verify_steps: VerifyStepsOpt = 300,
    backend: BackendOpt = "numpy",
    weights_dtype: DtypeOpt = "float32",
    target: TargetOpt = None,
) -> None:
    """Load, validate, render, and verify on the real engine and in every target runtime; write main.py only if
    it plays like the model everywhere."""
    from builder.pipeline import DEFAULT_TARGETS, build
    from gfsub.show import build_summary

    with quiet(), console.status("building and verifying main.py on the gfootball engine and in each target "
                                 "runtime..."):
        result = build(weights, output, arch_file=arch, observation=observation, encoder=encoder,
                       output_name=model_output, state=state, fallback_action=fallback_action,
                       verify_steps=verify_steps, no_sandbox=no_sandbox,
                       backend=backend, weights_dtype=weights_dtype, targets=target or DEFAULT_TARGETS,
                       on_runtime_create=announce_runtime)
    build_summary(result)


# ----- check and league ---------------------------------------------------------------------------------------
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
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Default: runs/<main.py sha256>-<settings "
                                                 "hash>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    match_timeout: Annotated[float | None, typer.Option("--match-timeout", help="Wall seconds before a match "
                                                        "counts as hung.")] = None,
    video: Annotated[bool, typer.Option("--video", help="Also save the engine's own video of each match "
                                        "(match-NNN.webm; rendering makes matches about 3x slower).")] = False,
    runtime: Annotated[str, typer.Option("--runtime", help="Where the candidate runs: current (this interpreter), "
                                         "or a runtime of `gfsub runtime list`, in its own process.")] = "current",
    agent_memory: AgentMemoryOpt = "4G",
    agent_cpus: AgentCpusOpt = 1.0,
    no_sandbox: NoSandboxOpt = False,
) -> None:
    """Play real matches with kaggle-environments; exit 0 only if main.py would not forfeit or run out of time."""
    from gfsub.show import check_report
    from harness.check import agents_per_match, default_run_dir, make_config, run_check
    from runtimes.registry import ensure_runtime, get_spec

    def play() -> tuple:
        config = make_config(main_py, matches=matches, steps=steps, opponent=opponent, seed=seed,
                             slowdown=slowdown, match_timeout=match_timeout, jobs=jobs, video=video,
                             runtime=runtime, no_sandbox=no_sandbox, agent_memory=agent_memory,
                             agent_cpus=agent_cpus)
        announce_jobs(jobs, agents_per_match(config.opponent), config.sandbox)
        ensure_runtime(get_spec(runtime), on_create=announce_runtime)
        folder = run_dir or default_run_dir(config)
        with live_progress() as watcher:
            return folder, run_check(config, folder, resume=resume, watcher=watcher)

    report = play_and_show(play, check_report)
    sys.exit(0 if report.verdict == "PASS" else 1)


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
    agent_memory: AgentMemoryOpt = "4G",
    agent_cpus: AgentCpusOpt = 1.0,
    no_sandbox: NoSandboxOpt = False,
) -> None:
    """Round robin between candidates: openskill ratings, a pairwise W/D/L table with 95% intervals, forfeits
    named. Each match in its own process, locally or on a Ray cluster."""
    from gfsub.show import league_report
    from harness.isolation import describe, plan_jobs, sandbox_limits
    from harness.league import agents_per_match, default_run_dir, make_league_config, run_league
    from harness.participants import resolve_participants
    from harness.pools import LocalPool
    from runtimes.registry import ensure_runtime, get_spec

    def play() -> tuple:
        sandbox = sandbox_limits(no_sandbox, agent_memory, agent_cpus)
        where = ensure_runtime(get_spec(runtime), on_create=announce_runtime)  # participants load there
        config = make_league_config(resolve_participants(participants, engine, where, sandbox),
                                    matches_per_pair=matches_per_pair, steps=steps, scenario=scenario, seed=seed,
                                    runtime=runtime, jobs=jobs, sandbox=sandbox)
        if ray_address is not None:
            from harness.ray_pool import RayPool

            pool = RayPool(ray_address, match_timeout=config.match_timeout)
        else:
            # One thread per process: a league match runs the engine and two agent processes, and throughput is
            # what counts here (multi-threaded BLAS in three processes on a few cores only spins).
            planned = plan_jobs(jobs or os.cpu_count() or 1, agents_per_match(config), sandbox)[0]
            announce_jobs(jobs, agents_per_match(config), sandbox)
            pool = LocalPool(jobs=planned, match_timeout=config.match_timeout, threads=1)
        folder = run_dir or default_run_dir(config)
        console.print(f"league: {len(config.participants)} participants, {config.total_matches} matches "
                      f"({matches_per_pair} per pair, {steps} steps) on {pool.describe()}; agents "
                      f"{describe(sandbox)}", markup=False)
        with live_progress() as watcher:
            return folder, run_league(config, folder, pool, resume=resume, watcher=watcher)

    play_and_show(play, league_report)


def announce_jobs(jobs: "int | None", agents: int, sandbox: "dict | None") -> None:
    """One line when the machine's memory holds fewer matches at a time than --jobs (or its cores) asks."""
    from harness.isolation import plan_jobs

    note = plan_jobs(jobs or os.cpu_count() or 1, agents, sandbox)[1]
    if note:
        console.print(note, markup=False, highlight=False)


def play_and_show(play, show):
    """Run `play() -> (run_dir, report)` quietly, then `show(report, run_dir)` and write report.html; an
    interrupted run is shown the same way and exits 130. -> the report."""
    from harness.pools import RunInterrupted

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


def print_html_report(run_dir: Path) -> None:
    """Write report.html for the run and print its path (the last line of check and league)."""
    from harness.reports import rebuild

    with quiet():
        path = rebuild(run_dir)
    console.print(f"html report: {path}", markup=False, highlight=False)


@app.command("report")
def report_command(run_dir: Annotated[Path, typer.Argument(help="The --run-dir of a check or league run.")]) -> None:
    """(Re)write report.html of a check or league run directory from its results, older runs included."""
    print_html_report(run_dir)


# ----- replay -------------------------------------------------------------------------------------------------
@app.command("replay")
def replay_command(
    episode: Annotated[Path, typer.Argument(help="An episode JSON as kaggle-environments writes it: Kaggle's "
                                            "replay download, or a gfsub match-NNN.json.")],
    main_py: Annotated[Path, typer.Argument(help="The main.py to put back into that episode.")],
    side: Annotated[int | None, typer.Option("--side", help="0 (left) or 1 (right); default: the side that "
                                             "forfeited.")] = None,
    runtime: Annotated[str, typer.Option("--runtime", help="Where main.py runs (see `gfsub runtime list`).")
                       ] = "current",
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Default: runs/replay-<hash of the files>.")
                       ] = None,
    agent_memory: AgentMemoryOpt = "4G",
    agent_cpus: AgentCpusOpt = 1.0,
    no_sandbox: NoSandboxOpt = False,
) -> None:
    """Feed a recorded episode's observations to main.py, with Kaggle's timing, and say whether what went wrong
    there happens again: reproduced, differs, or not reproduced."""
    from common.errors import MissingFileError
    from gfsub.show import replay_report
    from harness.episode import choose_side, read_episode
    from harness.isolation import sandbox_limits
    from harness.replay import default_run_dir, prepare_run_dir, replay, write_report
    from harness.replay_page import replay_page
    from runtimes.registry import ensure_runtime, get_spec

    with quiet():
        recorded = read_episode(episode)
        chosen = choose_side(recorded, side)
        if not main_py.is_file():
            raise MissingFileError(main_py, "no such main.py", "pass the main.py to put back into the episode")
        sandbox = sandbox_limits(no_sandbox, agent_memory, agent_cpus)
        where = ensure_runtime(get_spec(runtime), on_create=announce_runtime)
        folder = run_dir or default_run_dir(episode, main_py, chosen, runtime)
        prepare_run_dir(folder)
        report = replay(recorded, chosen, main_py, where, sandbox)
        path = write_report(folder, report, {"episode": str(episode), "main_py": str(main_py), "side": chosen,
                                             "runtime": runtime, "sandbox": sandbox})
        page = replay_page(folder, report)
    replay_report(report, path)
    console.print(f"html report: {page}", markup=False, highlight=False)


# ----- package ------------------------------------------------------------------------------------------------
@app.command("package")
def package_command(
    main_py: Annotated[Path, typer.Argument(help="A main.py that passed `gfsub check`.")],
    output: Annotated[Path, typer.Option("-o", "--output")] = Path("submission.tar.gz"),
    include: Annotated[list[Path] | None, typer.Option("--include", help="Extra file for the archive root.")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where check reports are looked for.")] = Path("runs"),
    force: Annotated[bool, typer.Option("--force", help="Package even without a PASS report.")] = False,
    max_size: Annotated[int | None, typer.Option("--max-size", help="Size limit in bytes (Kaggle: 100 MB).")
                        ] = None,
) -> None:
    """Write a reproducible submission.tar.gz with main.py at its root, only for a checked main.py."""
    from common.kaggle import SUBMISSION_MAX_BYTES
    from harness.package import package

    with quiet():
        result = package(main_py, output, tuple(include or ()), runs_dir, force,
                         SUBMISSION_MAX_BYTES if max_size is None else max_size)
    if result.forced:
        errors.print("[bold yellow]WARNING: --force: this main.py has NOT passed a release-grade `gfsub check` (both "
                     "sides, full-length matches against the engine AI); it may forfeit on Kaggle.[/]")
    console.print(f"[bold green]wrote {result.output}[/] ({result.size / 1e6:.1f} MB: "
                  f"{', '.join(result.entries)}); loads with kaggle-environments' loader"
                  + (f"; checked by {result.report}" if result.report else ""), highlight=False)


# ----- runtimes -----------------------------------------------------------------------------------------------
runtime_app = typer.Typer(cls=Handled, no_args_is_help=True,
                          help="Target runtimes: interpreters + pinned packages, cached venvs.")
app.add_typer(runtime_app, name="runtime")


@runtime_app.command("list")
def runtime_list() -> None:
    """Show every runtime, where it is defined, and whether it is ready."""
    from rich.markup import escape
    from rich.table import Table

    from runtimes.registry import get_runtime, load_specs

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
    default_targets: Annotated[bool, typer.Option("--default-targets", help="The runtimes a default `gfsub build` "
                                                  "verifies in.")] = False,
) -> None:
    """Create (or update) runtime venvs in the cache; ones already up to date are left alone."""
    from builder.pipeline import DEFAULT_TARGETS
    from runtimes.registry import ensure_runtime, get_spec, load_specs, parse_names

    if default_targets:
        specs = parse_names(DEFAULT_TARGETS)
    else:
        specs = [get_spec(name) for name in names] if names else [spec for spec in load_specs().values()
                                                                  if not spec.on_demand]
    if python is not None and len(specs) != 1:
        raise OptionValueError(python, "--python applies to one runtime", "name exactly one runtime with --python")
    for spec in specs:
        with quiet():
            runtime = ensure_runtime(spec, str(python) if python else None, on_create=announce_runtime)
        console.print(f"{spec.name}: ready ({runtime.describe()})", markup=False)


@runtime_app.command("remove")
def runtime_remove(name: Annotated[str, typer.Argument(help="Runtime whose venv to delete.")]) -> None:
    """Delete a runtime's cached venv (it is made again when next needed)."""
    from runtimes.registry import get_spec, remove_runtime

    removed = remove_runtime(get_spec(name))
    console.print(f"{name}: " + ("removed" if removed else "nothing to remove"))


# ----- arch ------------------------------------------------------------------------------------------------
@app.command("arch")
def show_architecture(
    source: Annotated[Path | None, typer.Option("--from", help="Weights whose architecture to infer from their "
                                                "shapes (or read from their file).")] = None,
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Where to write arch-N.json when several variants "
                                          "fit.")] = Path("."),
) -> None:
    """Print the default (reference notebook) architecture as JSON, a template for --arch; with --from, the
    architecture of those weights (several fitting variants are written as arch-1.json, arch-2.json, ...)."""
    from builder.keras.splitter import Architecture

    if source is None:
        json.dump(Architecture().to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from builder.keras.shapes import describe_variant, infer_architectures
    from builder.load import load_weights

    with quiet():
        weights = load_weights(source)
    if weights.graph is not None:
        console.print(f"{source}: the file records its own layer graph; `gfsub build` reads it (no --arch)",
                      markup=False)
        return
    arrays = weights.ordered or [a for arrays in (weights.layers or {}).values() for a in arrays]
    found = infer_architectures(arrays)
    if not found:
        raise UnsupportedArchitectureError(source, "no known variant of the notebook's network fits these weight "
                                           "shapes", "write the --arch file by hand: `gfsub arch` prints a template")
    if len(found) == 1:
        json.dump(found[0].to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, arch in enumerate(found, start=1):
        path = out_dir / f"arch-{index}.json"
        path.write_text(json.dumps(arch.to_dict(), indent=2) + "\n")
        console.print(f"{path}: {describe_variant(arch)}", markup=False)


def main(argv: "list[str] | None" = None) -> None:
    """The `gfsub` command (argv: the arguments after it; default sys.argv[1:])."""
    app(args=argv, prog_name="gfsub")


if __name__ == "__main__":
    main()
