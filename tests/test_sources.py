"""Models written by the TensorFlow of their era are read from their own files and verified against themselves.

Each fixture is a real competitor's model: built, trained one Adam step (optimizer state saved) and saved by
TensorFlow 2.3.1 on Python 3.7 (the kaggle-2020 runtime) or TensorFlow 2.15.1 (keras2), with the user's own
SplitLayer registered under their package name, exactly as the reference notebook saves it.
"""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from builder import build
from gfsub.cli import app
from runtimes.registry import ensure_runtime, get_spec
from tests.helpers import main_py_q_values, notebook_inputs

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

ERA_SCRIPT = Path(__file__).with_name("era_models.py")


def write_era_model(runtime: str, folder: Path, inputs: "np.ndarray | None" = None, **spec) -> Path:
    """Run tests/era_models.py with the runtime's own interpreter and TensorFlow; -> the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"out": str(folder), **spec}
    if inputs is not None:
        np.save(folder / "inputs.npy", inputs.astype(np.float32))
        spec["inputs"] = str(folder / "inputs.npy")
    ready = ensure_runtime(get_spec(runtime))
    out = subprocess.run([ready.python, str(ERA_SCRIPT), json.dumps(spec)], capture_output=True, text=True,
                         env={**os.environ, **ready.spec.environment})
    assert out.returncode == 0, out.stderr[-3000:]
    return folder


@pytest.fixture(scope="module")
def engine_inputs(engine_observations):
    return notebook_inputs(engine_observations)


@pytest.fixture(scope="module")
def tf23_notebook(tmp_path_factory, engine_inputs):
    return write_era_model("kaggle-2020", tmp_path_factory.mktemp("tf23"), engine_inputs, seed=1)


@pytest.fixture(scope="module")
def tf215_max_pool(tmp_path_factory, engine_inputs):
    return write_era_model("keras2", tmp_path_factory.mktemp("tf215"), engine_inputs, seed=2, max_pool=True,
                           dense_units=[256, 128])


def _assert_built_against_itself(result, writer: str, runtime: str) -> None:
    assert result.parity.passed and result.parity.agreement == 1.0
    assert result.parity.reference.startswith("the source model itself")
    assert f"in runtime {runtime}; written by {writer}" in result.parity.reference
    assert result.parity.rebuild_vs_source <= 1e-4


@pytest.mark.parametrize("name", ["saved_model", "model.h5"])
def test_tf23_trained_model_with_optimizer_state_builds_without_arch(tmp_path, tf23_notebook, engine_observations,
                                                                      name):
    result = build(tf23_notebook / name, tmp_path / "main.py", verify_steps=60, targets="current")
    writer = "TensorFlow 2.3.1" if name == "saved_model" else "Keras 2.4.0"
    _assert_built_against_itself(result, writer, "kaggle-2020")
    # Independently of gfsub's verification: main.py against the Q-values TF 2.3 itself computed in 2020's runtime.
    want = np.load(tf23_notebook / "q_values.npy")
    got = main_py_q_values(result.output, engine_observations)
    assert np.max(np.abs(got - want)) <= 1e-4
    np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))


@pytest.mark.parametrize("name", ["saved_model", "model.h5"])
def test_tf215_max_pool_model_reads_its_architecture_from_its_files(tmp_path, tf215_max_pool, engine_observations,
                                                                     name):
    result = build(tf215_max_pool / name, tmp_path / "main.py", verify_steps=60, targets="current")
    arch = result.model.arch
    assert arch.dense_units == (256, 128) and all(conv.pool is not None for conv in arch.convs)
    _assert_built_against_itself(result, "TensorFlow 2.15.1" if name == "saved_model" else "Keras 2.15.0", "keras2")
    want = np.load(tf215_max_pool / "q_values.npy")
    got = main_py_q_values(result.output, engine_observations)
    assert np.max(np.abs(got - want)) <= 1e-4


@pytest.mark.parametrize("backend", ["numpy", "keras"])
def test_other_activations_are_modelled_exactly(tmp_path_factory, engine_observations, engine_inputs, backend):
    folder = tmp_path_factory.mktemp(f"elu-{backend}")
    write_era_model("kaggle-2020", folder, engine_inputs, seed=3, dense_units=[128, 64], dense_activation="elu",
                    output_activation="tanh", h5=False)
    result = build(folder / "saved_model", folder / "main.py", verify_steps=60, backend=backend, targets="current")
    assert result.model.arch.dense_activations == ("elu", "elu") and result.model.arch.head_activation == "tanh"
    _assert_built_against_itself(result, "TensorFlow 2.3.1", "kaggle-2020")
    got = main_py_q_values(result.output, engine_observations)
    assert np.max(np.abs(got - np.load(folder / "q_values.npy"))) <= 1e-4


def test_an_activation_gfsub_does_not_model_is_refused_naming_the_layer(tmp_path):
    write_era_model("kaggle-2020", tmp_path / "exp", seed=4, dense_units=[64], dense_activation="exponential",
                    h5=False)
    out = CliRunner().invoke(app, ["build", str(tmp_path / "exp" / "saved_model"), "-o", str(tmp_path / "main.py")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "layer 'fc1' (Dense) uses activation 'exponential', which gfsub does not model" in out.stderr
    assert "--arch" not in out.stderr and "weights only" not in out.stderr, "no advice that changes the model"
    assert not (tmp_path / "main.py").exists()


def test_a_difference_the_config_cannot_show_is_caught_by_the_source_model(tmp_path):
    """A dueling head merged as V + A (no mean): every shape and layer fits gfsub's dueling rebuild."""
    write_era_model("kaggle-2020", tmp_path / "sum", seed=5, dense_units=[64], dueling=True, dueling_merge="sum",
                    h5=False)
    out = CliRunner().invoke(app, ["build", str(tmp_path / "sum" / "saved_model"), "-o", str(tmp_path / "main.py"),
                                   "--verify-steps", "30"])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "the source model computes something gfsub's rebuild of its graph does not" in out.stderr
    assert not (tmp_path / "main.py").exists()


def test_output_folders_are_created_and_removed_again_on_failure(tmp_path, tf23_notebook):
    result = build(tf23_notebook / "model.h5", tmp_path / "new" / "deeper" / "main.py", verify_steps=20,
                   targets="current")
    assert result.output.exists()
    out = CliRunner().invoke(app, ["build", str(tmp_path / "missing.keras"), "-o",
                                   str(tmp_path / "other" / "dir" / "main.py")])
    assert out.exit_code == 2 and not (tmp_path / "other").exists()


def test_a_tf_keras_2_21_file_runs_its_reference_in_a_tf_keras_runtime(tmp_path, engine_observations, engine_inputs):
    """Keras 2 after TensorFlow 2.15: tf_keras 2.21 (TF_USE_LEGACY_KERAS=1) writes configs TensorFlow 2.15 cannot
    read (InputLayer's `optional`); the reference runs in the tf_keras runtime of that version, made on first use."""
    folder = write_era_model("tf-keras-2.21", tmp_path / "tf_keras", engine_inputs, seed=6, max_pool=True,
                             dense_units=[128, 64], savedmodel=False)
    result = build(folder / "model.h5", tmp_path / "main.py", verify_steps=40, targets="current")
    _assert_built_against_itself(result, "Keras 2.21", "tf-keras-2.21")
    got = main_py_q_values(result.output, engine_observations)
    assert np.max(np.abs(got - np.load(folder / "q_values.npy"))) <= 1e-4


MAIN_MODULE_MODEL = """
import inspect, sys
from pathlib import Path
import gfsub.demo
globals().update({k: v for k, v in vars(gfsub.demo).items() if not k.startswith("__")})
exec(compile(inspect.getsource(gfsub.demo.make_untrained_model), "notebook cell", "exec"))  # defined in __main__
make_untrained_model(Path(sys.argv[1]))
"""


def test_a_split_layer_defined_in_a_notebooks_main_module_builds(tmp_path, engine_inputs):
    """A custom layer class defined in `__main__` (a notebook, a script) is saved with `module: null` (how
    `python -m gfsub.demo` wrote the demo's model): it is read like any other."""
    saved = tmp_path / "notebook.keras"
    subprocess.run([sys.executable, "-c", MAIN_MODULE_MODEL, str(saved)], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    layers = json.loads(zipfile.ZipFile(saved).read("config.json"))["config"]["layers"]
    assert [layer.get("module") for layer in layers if layer["class_name"] == "SplitLayer"] == [None]
    result = build(saved, tmp_path / "main.py", verify_steps=30, targets="current")
    assert result.parity.agreement == 1.0
