"""`make demo` (`python -m gfsub.demo`): the bundled default, an UNTRAINED seeded SplitterConvNN, built into main.py,
checked release grade and packaged: the whole product on one model, in one command."""

import argparse
import json
import shutil
from pathlib import Path

from builder.keras.splitter import Architecture

DEFAULT_NAME = "untrained_splitter_conv_nn_seed0.keras"


def make_untrained_model(path: Path, seed: int = 0, arch: "Architecture | None" = None) -> Path:
    """Save a randomly initialised (seeded, untrained) SplitterConvNN as .keras, written the notebook's way (its
    own channel-split layer); it plays badly by design."""
    import keras

    keras.utils.set_random_seed(seed)
    arch = arch or Architecture()

    @keras.saving.register_keras_serializable(package="gfsub_demo")
    class SplitLayer(keras.layers.Layer):
        def call(self, inputs):
            return keras.ops.split(inputs, inputs.shape[-1], axis=-1)

        def compute_output_spec(self, inputs):
            return [keras.KerasTensor((*inputs.shape[:-1], 1), dtype=inputs.dtype) for _ in range(inputs.shape[-1])]

    frames = keras.Input(shape=tuple(arch.input_shape), name="input")
    branches = []
    for branch, x in enumerate(SplitLayer(name="split")(frames)):
        for depth, conv in enumerate(arch.convs, start=1):
            x = keras.layers.Conv2D(conv.filters, tuple(conv.kernel), strides=tuple(conv.strides), padding=conv.padding,
                                    activation=conv.activation, name=f"conv{depth}_frame_{branch}")(x)
        branches.append(keras.layers.Flatten(name=f"flatten_{branch}")(x))
    x = keras.layers.Concatenate(name="concat")(branches)
    for index, units in enumerate(arch.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"fc{index}")(x)
    model = keras.Model(frames, keras.layers.Dense(arch.n_actions, name="output")(x), name="splitter_conv_nn")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def run_demo(out: Path) -> None:
    from common.files import sha256_of
    from gfsub import cli
    from gfsub.show import console

    weights = out / DEFAULT_NAME
    if not weights.exists():
        console.print(f"creating the bundled default: {weights} (seed 0, UNTRAINED: random play, for the pipeline "
                      "only)", markup=False)
        with cli.quiet():
            make_untrained_model(weights)
    main_py = out / "main.py"
    cli.build(weights, main_py)
    console.print("\nchecking it, release grade: 2 full matches against the engine AI (one per side, in parallel), "
                  "timed as Kaggle times them")
    run_dir = out / "check"
    # Builds are reproducible: a rebuild of the same model is the same file, and its earlier check still holds.
    resume = False
    if (run_dir / "run.json").exists():
        if json.loads((run_dir / "run.json").read_text()).get("main_py_sha256") == sha256_of(main_py):
            resume = True
        else:
            shutil.rmtree(run_dir)  # a check of another main.py
    try:
        cli.check(main_py, run_dir=run_dir, resume=resume)
    except SystemExit as stop:
        if stop.code:
            raise
    submission = out / "submission.tar.gz"
    cli.package_command(main_py, output=submission, runs_dir=out)
    console.print(f"\nmain.py: {main_py.resolve()}\nupload:  {submission.resolve()}  (the model is UNTRAINED: it "
                  "plays badly)", markup=False, highlight=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("demo"), help="folder for the demo's files")
    args = parser.parse_args()
    from gfsub.cli import handled

    with handled():
        run_demo(args.out)


if __name__ == "__main__":
    main()
