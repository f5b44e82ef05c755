"""`make demo`: create the bundled default (an UNTRAINED, seeded SplitterConvNN), build and verify main.py."""

import argparse
import json
import shutil
from pathlib import Path

from agent_runtime.architecture import Architecture

DEFAULT_NAME = "untrained_splitter_conv_nn_seed0.keras"


def make_untrained_model(path: Path, seed: int = 0, arch: Architecture | None = None) -> Path:
    """Save a randomly initialised (seeded, untrained) SplitterConvNN as .keras; it plays badly by design."""
    import keras

    from agent_runtime.keras_model import build_keras_model

    keras.utils.set_random_seed(seed)
    model = build_keras_model(arch or Architecture())
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="folder for the demo files")
    args = parser.parse_args()

    from builder.cli import app, quiet, run_build
    from builder.files import sha256_of

    weights = args.out / DEFAULT_NAME
    if not weights.exists():
        print(f"creating the bundled default: {weights} (seed 0, UNTRAINED: random play, for the pipeline only)")
        with quiet():
            make_untrained_model(weights)
    main_py = args.out / "main.py"
    run_build(weights, main_py)
    print("\nchecking it, release grade: 2 full matches against the engine AI (one per side, in parallel), timed as "
          "Kaggle times them")
    run_dir = args.out / "check"
    # Builds are reproducible: a rebuild of the same model is the same file, and its earlier check still holds.
    resume = []
    if (run_dir / "run.json").exists():
        if json.loads((run_dir / "run.json").read_text()).get("main_py_sha256") == sha256_of(main_py):
            resume = ["--resume"]
        else:
            shutil.rmtree(run_dir)  # a check of another main.py
    _run(app, ["check", str(main_py), "--matches", "2", "--steps", "3002", "--run-dir", str(run_dir), *resume])
    submission = args.out / "submission.tar.gz"
    _run(app, ["package", str(main_py), "-o", str(submission), "--runs-dir", str(args.out)])
    print(f"\nmain.py: {main_py.resolve()}\nupload:  {submission.resolve()}  (the model is UNTRAINED: it plays badly)")


def _run(app, argv: list) -> None:
    """Run a CLI command; stop the demo with its exit code if it fails."""
    try:
        app(argv, standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            raise


if __name__ == "__main__":
    main()
