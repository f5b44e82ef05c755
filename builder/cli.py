"""`gfsub` command line: build (and print the default architecture for --arch files)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.markup import escape  # noqa: E402
from rich.table import Table  # noqa: E402

from agent_runtime.architecture import Architecture  # noqa: E402
from builder.errors import GfsubError  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Turn trained SplitterConvNN weights into a verified Kaggle football main.py.")
console = Console()
errors = Console(stderr=True)


def fail(error: GfsubError) -> None:
    """The one-line error for bad input, and a non-zero exit."""
    errors.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
    sys.exit(2)


WeightsArg = Annotated[Path, typer.Argument(
    help="Trained weights: .keras, .h5, .weights.h5, SavedModel dir, .npz, zlib-pickled get_weights().")]
OutputOpt = Annotated[Path, typer.Option("-o", "--output", help="Where to write main.py.")]
ArchOpt = Annotated[Path | None, typer.Option("--arch", help="Architecture JSON for weights-only formats "
                                                              "(see `gfsub arch`).")]
FallbackOpt = Annotated[int, typer.Option("--fallback-action", help="Action played if the model ever errors.")]
VerifyStepsOpt = Annotated[int, typer.Option("--verify-steps", help="Engine steps played to check parity.")]
BackendOpt = Annotated[str, typer.Option("--backend", help="numpy (no TensorFlow in main.py; default) or keras.")]
DtypeOpt = Annotated[str, typer.Option("--weights-dtype", help="float32, or float16 for a main.py half the size.")]


@app.command()
def build(
    weights: WeightsArg,
    output: OutputOpt = Path("main.py"),
    arch: ArchOpt = None,
    fallback_action: FallbackOpt = 0,
    verify_steps: VerifyStepsOpt = 300,
    backend: BackendOpt = "numpy",
    weights_dtype: DtypeOpt = "float32",
) -> None:
    """Load, validate, render, and verify on the real engine; write main.py only if it plays like the model."""
    run_build(weights, output, arch, fallback_action, verify_steps, backend, weights_dtype)


def run_build(weights: Path, output: Path, arch: Path | None = None, fallback_action: int = 0,
              verify_steps: int = 300, backend: str = "numpy", weights_dtype: str = "float32") -> None:
    """Build and print the summary table; bad input -> one-line error and exit code 2."""
    from builder.pipeline import build_agent

    try:
        with console.status("building and verifying main.py on the gfootball engine..."):
            result = build_agent(weights, output, arch, fallback_action, verify_steps,
                                 backend=backend, weights_dtype=weights_dtype)
    except GfsubError as error:
        fail(error)
    table = Table(show_header=False, box=None)
    rows = [
        ("source", f"{result.source.path} ({result.source.format}, sha256 {result.source.sha256[:12]}...)"),
        ("architecture", result.arch.describe()),
        ("parameters", f"{result.arch.n_params():,}"),
        ("backend", f"{result.backend}, weights stored as {result.weights_dtype}"),
        ("weights blob", f"{result.blob_chars / 1e6:.1f} MB base64"),
        ("main.py", f"{result.output} ({result.main_py_bytes / 1e6:.1f} MB)"),
        ("parity", result.parity.summary() if result.parity else "not checked"),
    ]
    for name, value in rows:
        table.add_row(name, escape(value))
    console.print(table)
    console.print(f"[bold green]wrote {escape(str(result.output))}[/]")


@app.command()
def check(
    main_py: Annotated[Path, typer.Argument(help="The main.py to check.")],
    matches: Annotated[int, typer.Option("--matches", help="Matches to play; the side alternates.")] = 2,
    steps: Annotated[int, typer.Option("--steps", help="Steps per match (3002 is Kaggle's).")] = 3002,
    opponent: Annotated[str, typer.Option("--opponent", help="engine, do_nothing, run_right, self, or a main.py.")
                        ] = "engine",
    jobs: Annotated[int, typer.Option("--jobs", help="Matches in parallel (default: cores).")] = 0,
    seed: Annotated[int, typer.Option("--seed", help="Engine seed of match 0 (match i uses seed + i).")] = 0,
    slowdown: Annotated[float, typer.Option("--slowdown", help="Margin for Kaggle's slower machines.")] = 2.0,
    run_dir: Annotated[Path | None, typer.Option("--run-dir", help="Default: runs/<sha256[:12]>.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run.")] = False,
    match_timeout: Annotated[float | None, typer.Option("--match-timeout", help="Wall seconds before a match "
                                                        "counts as hung.")] = None,
    replay: Annotated[bool, typer.Option("--replay/--no-replay", help="Save HTML replays.")] = True,
) -> None:
    """Play real matches with kaggle-environments; exit 0 only if main.py would not forfeit or run out of time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from builder.check import make_config, run_check

    try:
        config = make_config(main_py, matches, steps, opponent, seed, slowdown, match_timeout, jobs or None, replay)
        run_dir = run_dir or Path("runs") / config.main_py_sha256[:12]
        columns = (TextColumn("[bold]matches"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[rate]}"))
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("matches", total=matches, rate="")
            played = {"steps": 0}

            def advance(result: dict) -> None:
                played["steps"] += len(result.get("durations", []))
                elapsed = max(progress.tasks[0].elapsed or 1e-9, 1e-9)
                progress.update(task, advance=1, rate=f"{played['steps'] / elapsed:.0f} steps/s")

            report = run_check(config, run_dir, resume=resume, on_result=advance)
    except GfsubError as error:
        fail(error)
    print_report(report, run_dir)
    sys.exit(0 if report["verdict"] == "PASS" else 1)


def print_report(report: dict, run_dir: Path) -> None:
    slowdown = report["config"]["slowdown"]
    table = Table(title="matches", caption=f"step1, overage and proj (a full match at {slowdown:g}x slower, vs the "
                  "60 s pool) in s; p50/p99/max of steps 2.. in ms")
    for column in ("#", "side", "score", "status", "step1", "p50", "p99", "max", "overage", "proj"):
        table.add_column(column, justify="right")
    for match in report["matches"]:
        t = match["timing"]
        table.add_row(str(match["index"]), match["side"], f"{match['score'][0]}-{match['score'][1]}", match["status"],
                      f"{t['step1']:.2f}", f"{t['p50'] * 1e3:.2f}", f"{t['p99'] * 1e3:.2f}", f"{t['max'] * 1e3:.1f}",
                      f"{t['overage_used']:.2f}", f"{t['projected_overage']:.1f}")
    console.print(table)
    for match in report["matches"]:
        if match["stderr"] and match["status"] != "DONE":
            console.print(f"[bold red]match {match['index']} {match['status']}[/]: agent stderr (last lines):")
            console.print(escape("\n".join(match["stderr"].strip().splitlines()[-15:])), highlight=False)
    low, high = report["win_rate_95ci"]
    console.print(f"W/D/L {report['wins']}/{report['draws']}/{report['losses']}, goal difference "
                  f"{report['goal_difference']:+d}, win rate {report['win_rate']:.0%} (95% CI {low:.0%}-{high:.0%})")
    if report["verdict"] == "PASS":
        console.print(f"[bold green]PASS[/] — report: {escape(str(run_dir / 'report.json'))}")
    else:
        console.print(f"[bold red]FAIL[/] — report: {escape(str(run_dir / 'report.json'))}")
        for reason in report["reasons"]:
            console.print(f"  - {escape(reason)}")


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

    try:
        result = package(main_py, output, tuple(include or ()), runs_dir, force, max_size)
    except GfsubError as error:
        fail(error)
    if result.forced:
        errors.print("[bold yellow]WARNING: --force: this main.py has NOT passed `gfsub check`; it may forfeit "
                     "on Kaggle.[/]")
    console.print(f"[bold green]wrote {escape(str(result.output))}[/] ({result.size / 1e6:.1f} MB: "
                  f"{', '.join(result.entries)}); loads with kaggle-environments' loader"
                  + (f"; checked by {escape(str(result.report))}" if result.report else ""))


@app.command("arch")
def show_architecture() -> None:
    """Print the default (reference notebook) architecture as JSON, a template for --arch."""
    json.dump(Architecture().to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
