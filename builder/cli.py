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


@app.command("arch")
def show_architecture() -> None:
    """Print the default (reference notebook) architecture as JSON, a template for --arch."""
    json.dump(Architecture().to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
