"""Every layer type gfsub reproduces, read from files the real Keras of each era wrote (tests/era_layers.py) and run
by main.py's numpy forward: the same outputs as that Keras' own predict, and what gfsub cannot reproduce refused by
layer name and class."""

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest

from agent_runtime.graph import GraphModel
from builder.load import load_weights
from builder.model_graph import check_graph
from builder.validate import resolve_model
from common.errors import UnsupportedArchitectureError
from runtimes.registry import ensure_runtime, get_spec

ERA_SCRIPT = Path(__file__).with_name("era_layers.py")
ERAS = {"kaggle-2020": "TensorFlow 2.3.1, Keras 2.4", "keras2": "TensorFlow 2.15, Keras 2.15",
        "current": "Keras 3"}
MODELS = ("dense", "activations", "conv", "pools", "reshaping", "merges", "norms", "dropouts", "activation_layers",
          "functional_ops", "dueling_lambda", "shared_layer", "recurrent", "recurrent_state", "sequential")


@pytest.fixture(scope="module", params=list(ERAS))
def era(request, tmp_path_factory) -> tuple:
    """(runtime, the folder of its files): written once per runtime by its own interpreter and Keras."""
    folder = tmp_path_factory.mktemp(request.param)
    python = ensure_runtime(get_spec(request.param)).python
    out = subprocess.run([python, str(ERA_SCRIPT), str(folder)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return request.param, folder


@pytest.mark.parametrize("name", MODELS)
def test_the_file_runs_in_numpy_as_in_its_own_keras(era, name):
    runtime, era = era
    written = json.loads((era / "written.json").read_text())
    path = next(era / file for file in written["written"] if file.split(".")[0] == name)
    model = resolve_model(load_weights(path), None)
    check_graph(model.graph, model.named, path)
    model.graph.output = model.graph.outputs[0]
    with np.load(era / f"{name}-inputs.npz") as archive:
        inputs = [archive[f"arr_{i}"] for i in range(len(archive.files))]
    want = np.load(era / f"{name}-outputs.npy")
    got = GraphModel(model.graph.as_data(), model.named)(inputs)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
    if name == "dueling_lambda":
        assert model.graph.assumed, "a Lambda read as a dueling merge is marked for confirmation by the model"
    if name == "activations":  # Keras 2.4 had no relu6, gelu, silu or leaky_relu by name; the others had all
        assert written["missing_activations"] == (["relu6", "gelu", "silu", "leaky_relu"]
                                                  if runtime == "kaggle-2020" else [])


REFUSED = {
    "conv-lstm": (lambda x: keras.layers.ConvLSTM1D(2, 2)(keras.layers.Reshape((3, 4, 1))(x)), "(ConvLSTM1D)"),
    "masked-gru": (lambda x: keras.layers.GRU(4)(keras.layers.Masking()(keras.layers.Reshape((3, 4))(x))),
                   "(GRU) is given a mask"),
    "attention": (lambda x: keras.layers.MultiHeadAttention(2, 4)(*[keras.layers.Reshape((3, 4))(x)] * 2),
                  "(MultiHeadAttention)"),
    "lambda": (lambda x: keras.layers.Lambda(lambda t: t * t)(x), "runs arbitrary Python code"),
    "dilated": (lambda x: keras.layers.Conv2D(2, 3, dilation_rate=2)(keras.layers.Reshape((5, 5, 2))(
        keras.layers.Dense(50)(x))), "has dilation"),
    "custom": (lambda x: Doubler()(x), "(Doubler) is a layer gfsub does not reproduce"),
    "swish-by-hand": (lambda x: keras.layers.Dense(3, activation="exponential")(x), "activation 'exponential'"),
}


@keras.saving.register_keras_serializable(package="someone_elses_code")
class Doubler(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2.0


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_gfsub_cannot_reproduce_is_refused_by_layer_and_class(case, tmp_path):
    make, expected = REFUSED[case]
    x = keras.Input((12,))
    model = keras.Model(x, keras.layers.Dense(19)(keras.layers.Flatten()(make(x))), name=case.replace("-", "_"))
    model.save(tmp_path / "model.keras")
    with pytest.raises(UnsupportedArchitectureError) as refused:
        load_weights(tmp_path / "model.keras")
    message = refused.value.message
    assert "layer '" in message and expected in message
    assert "will not build a main.py that plays differently" in message
