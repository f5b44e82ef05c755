"""Keras' recurrent layers (LSTM, GRU with reset_after both ways, SimpleRNN, Bidirectional), saved by this
interpreter's Keras 3 as .keras and .h5 and run by gfsub's numpy forward (agent_runtime/recurrent.py): every output
of the model, states included, within 1e-5 of model.predict, here and in the 2020 interpreter (Python 3.7, numpy
1.18). What gfsub does not reproduce exactly is refused by layer, class and setting. (The files of Keras 2 eras:
tests/test_layers.py, and trained families in tests/test_families.py.)"""

import json
import os
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

L = keras.layers
# The 2020 runtime's interpreter (Python 3.7, numpy 1.18); GFSUB_OLD_PYTHON names another (numpy 1.16, say).
PY37 = Path(os.environ.get("GFSUB_OLD_PYTHON", Path.home() / ".cache/gfsub/runtimes/kaggle-2020/bin/python"))
STEPS, FEATURES = 6, 5
TOLERANCE = 1e-5  # x max(1, |Keras' value|)


# ----- the models ---------------------------------------------------------------------------------------------
def lstm():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.Dense(3)(L.LSTM(4)(x)), name="lstm")


def lstm_sequences_backwards():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.LSTM(4, return_sequences=True, go_backwards=True)(x), name="lstm_sequences_backwards")


def lstm_activations():
    """Other activations, Keras 3's hard_sigmoid among them; no bias."""
    x = keras.Input((STEPS, FEATURES))
    y = L.LSTM(3, activation="softsign", recurrent_activation="hard_sigmoid", use_bias=False)(x)
    return keras.Model(x, y, name="lstm_activations")


def gru_reset_after():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.GRU(4, reset_after=True, return_sequences=True)(x), name="gru_reset_after")


def gru_reset_before():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.GRU(4, reset_after=False, go_backwards=True)(x), name="gru_reset_before")


def simple_rnn():
    x = keras.Input((STEPS, FEATURES))
    y = L.SimpleRNN(3, activation="relu", return_sequences=True)(x)
    return keras.Model(x, L.SimpleRNN(2, use_bias=False)(y), name="simple_rnn")


def stacked():
    """Frames through an LSTM, a GRU and a Dense head, as a recurrent agent stacks them."""
    x = keras.Input((STEPS, FEATURES))
    y = L.GRU(4)(L.Dropout(0.3)(L.LSTM(6, return_sequences=True, dropout=0.2, recurrent_dropout=0.2)(x)))
    return keras.Model(x, L.Dense(19)(y), name="stacked")


def return_state():
    """Each cell's output list: [sequence, h, c], [output, h], [output, h]."""
    x = keras.Input((STEPS, FEATURES))
    sequence, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x)
    out, gru_h = L.GRU(3, return_state=True, reset_after=False)(sequence)
    rnn, rnn_h = L.SimpleRNN(2, return_state=True)(sequence)
    return keras.Model(x, [L.Dense(19)(out), sequence, h, c, gru_h, rnn, rnn_h], name="return_state")


def initial_state():
    """States fed from other inputs (a recurrent agent's memory) and from another layer's states."""
    x, h0, c0 = keras.Input((STEPS, FEATURES), name="x"), keras.Input((4,), name="h0"), keras.Input((4,), name="c0")
    sequence, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x, initial_state=[h0, c0])
    gru = L.GRU(4, return_state=True)(sequence, initial_state=h)
    rnn = L.SimpleRNN(4)(sequence, initial_state=[c])
    return keras.Model([x, h0, c0], [L.Dense(19)(gru[0]), gru[1], rnn, h, c], name="initial_state")


def bidirectional():
    """Each merge mode, around each cell, with sequences and states."""
    x = keras.Input((STEPS, FEATURES))
    concat = L.Bidirectional(L.LSTM(3, return_sequences=True))(x)
    summed, *states = L.Bidirectional(L.GRU(3, return_state=True), merge_mode="sum")(concat)
    product = L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="mul")(x)
    average = L.Bidirectional(L.GRU(2, reset_after=False), merge_mode="ave")(product)
    return keras.Model(x, [summed, average, concat] + states, name="bidirectional")


def bidirectional_initial_state():
    x, h0, c0, h1, c1 = keras.Input((STEPS, FEATURES)), *[keras.Input((3,)) for _ in range(4)]
    out = L.Bidirectional(L.LSTM(3, return_state=True))(x, initial_state=[h0, c0, h1, c1])
    return keras.Model([x, h0, c0, h1, c1], out, name="bidirectional_initial_state")


def sequential():
    return keras.Sequential([keras.Input((STEPS, FEATURES)), L.GRU(5, return_sequences=True), L.SimpleRNN(4),
                             L.Dense(19)], name="sequential")


MODELS = {make.__name__: make for make in (
    lstm, lstm_sequences_backwards, lstm_activations, gru_reset_after, gru_reset_before, simple_rnn, stacked,
    return_state, initial_state, bidirectional, bidirectional_initial_state, sequential)}


def randomised(model: keras.Model) -> keras.Model:
    """Random weights, biases (a GRU's recurrent bias) included: an untrained layer's zero biases hide a bias read
    in the wrong place."""
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.6, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def random_inputs(model: keras.Model) -> list:
    rng = np.random.default_rng(2)
    return [rng.normal(0, 1.5, (7,) + tuple(x.shape[1:])).astype(np.float32) for x in model.inputs]


def keras_outputs(model: keras.Model, inputs: list) -> list:
    out = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    return [np.asarray(value) for value in (out if isinstance(out, (list, tuple)) else [out])]


def read(path: Path):
    """gfsub's graph and weights of a saved model, checked the way a build checks them."""
    found = resolve_model(load_weights(path), None)
    check_graph(found.graph, found.named, path)
    return found


def numpy_outputs(found, inputs: list) -> list:
    model = GraphModel(found.graph.as_data(), found.named)
    values = model.run(inputs)
    return [np.asarray(GraphModel.value(values, reference)) for reference in found.graph.outputs]


def assert_close(got: list, want: list) -> None:
    assert len(got) == len(want)
    for k, (ours, theirs) in enumerate(zip(got, want, strict=True)):
        assert ours.shape == theirs.shape, (k, ours.shape, theirs.shape)
        gap = np.max(np.abs(ours.astype(np.float64) - theirs) - TOLERANCE * np.maximum(1.0, np.abs(theirs)))
        assert gap <= 0, f"output {k}: off by {gap:.2e} beyond {TOLERANCE} x max(1, |Keras|)"


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    """name -> (folder, the model's inputs, Keras' outputs): each model saved as NAME.keras and NAME.h5."""
    folder = tmp_path_factory.mktemp("recurrent")
    made = {}
    for name, make in MODELS.items():
        keras.utils.set_random_seed(0)
        model = randomised(make())
        model.save(folder / f"{name}.keras")
        model.save(folder / f"{name}.h5")
        inputs = random_inputs(model)
        made[name] = (folder, inputs, keras_outputs(model, inputs))
    return made


# ----- the same outputs as Keras ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", list(MODELS))
def test_the_layer_runs_in_numpy_as_in_keras(saved, name, suffix):
    folder, inputs, want = saved[name]
    found = read(folder / f"{name}{suffix}")
    assert {node["op"] for node in found.graph.nodes} & {"recurrent", "bidirectional"}
    assert_close(numpy_outputs(found, inputs), want)


def test_the_nodes_say_what_keras_computes(saved):
    folder, _, _ = saved["initial_state"]
    nodes = {node["name"]: node for node in read(folder / "initial_state.keras").graph.nodes}
    lstm_node = next(node for node in nodes.values() if node["op"] == "recurrent" and node["cell"] == "lstm")
    assert lstm_node["inputs"][1:] == ["h0", "c0"]  # initial_state=[h0, c0]
    assert [w.rpartition("/")[2] for w in lstm_node["weights"]] == ["kernel", "recurrent_kernel", "bias"]
    gru_node = next(node for node in nodes.values() if node["op"] == "recurrent" and node["cell"] == "gru")
    assert gru_node["inputs"][1:] == [f"{lstm_node['name']}:1"] and gru_node["reset_after"] is True
    folder, _, _ = saved["bidirectional"]
    merges = {node["merge_mode"] for node in read(folder / "bidirectional.keras").graph.nodes
              if node["op"] == "bidirectional"}
    assert merges == {"concat", "sum", "mul", "ave"}


@pytest.mark.skipif(not PY37.exists(), reason="the kaggle-2020 runtime is not installed")
def test_the_layers_run_the_same_in_python37_old_numpy(saved, tmp_path):
    """agent_runtime's recurrent ops, run by the 2020 interpreter on the graphs read here: Keras' outputs within
    1e-5 there too."""
    for name in MODELS:
        folder, inputs, want = saved[name]
        found = read(folder / f"{name}.keras")
        np.savez(tmp_path / f"{name}.npz", *inputs, *[array for _, array in found.named])
        np.savez(tmp_path / f"{name}.want.npz", *want)
        (tmp_path / f"{name}.json").write_text(json.dumps({
            "graph": found.graph.as_data(), "outputs": found.graph.outputs, "weights": [n for n, _ in found.named],
            "n_inputs": len(inputs)}))
    root = Path(__file__).resolve().parents[1]
    script = f"""
import json, sys
import numpy as np
sys.path.insert(0, {str(root)!r})
from agent_runtime.graph import GraphModel
folder = {str(tmp_path)!r}
for name in {list(MODELS)!r}:
    spec = json.load(open(folder + "/" + name + ".json"))
    arrays = np.load(folder + "/" + name + ".npz")
    arrays = [arrays["arr_%d" % k] for k in range(len(arrays.files))]
    inputs, weights = arrays[:spec["n_inputs"]], arrays[spec["n_inputs"]:]
    model = GraphModel(spec["graph"], list(zip(spec["weights"], weights)))
    values = model.run(inputs)
    want = np.load(folder + "/" + name + ".want.npz")
    for k, reference in enumerate(spec["outputs"]):
        ours, theirs = np.asarray(model.value(values, reference)), want["arr_%d" % k].astype(np.float64)
        assert ours.shape == theirs.shape and ours.dtype == np.float32, (name, k, ours.shape, ours.dtype)
        assert np.all(np.abs(ours - theirs) <= {TOLERANCE} * np.maximum(1, np.abs(theirs))), (name, k)
print("ok", np.__version__)
"""
    done = subprocess.run([str(PY37), "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok 1.1"), done.stdout  # numpy 1.1x: the ops ran in the old numpy


# ----- what gfsub does not reproduce --------------------------------------------------------------------------
def _stateful():
    x = keras.Input((STEPS, FEATURES), batch_size=2)
    return keras.Model(x, L.LSTM(4, stateful=True)(x))


def _masked():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.GRU(4)(L.Masking(0.0)(x)))


def _unmerged():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.Bidirectional(L.LSTM(3), merge_mode=None)(x))


def _wrapped_stateful():
    x = keras.Input((STEPS, FEATURES), batch_size=2)
    return keras.Model(x, L.Bidirectional(L.SimpleRNN(3, stateful=True))(x))


def _generic_rnn():
    x = keras.Input((STEPS, FEATURES))
    return keras.Model(x, L.RNN(L.LSTMCell(4))(x))


def _conv_lstm():
    x = keras.Input((STEPS, FEATURES, 1))
    return keras.Model(x, L.Flatten()(L.ConvLSTM1D(2, 3)(x)))


REFUSED = {
    "stateful": (_stateful, "(LSTM) is stateful"),
    "masking": (_masked, "(GRU) is given a mask"),
    "merge_mode None": (_unmerged, "(Bidirectional) has merge_mode None"),
    "stateful inside Bidirectional": (_wrapped_stateful, "(Bidirectional) wraps a layer that is stateful"),
    "a generic RNN": (_generic_rnn, "(RNN) is a layer gfsub does not reproduce"),
    "ConvLSTM1D": (_conv_lstm, "(ConvLSTM1D) is a layer gfsub does not reproduce"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_gfsub_cannot_reproduce_is_refused_by_layer_class_and_setting(case, tmp_path):
    make, expected = REFUSED[case]
    keras.utils.set_random_seed(0)
    make().save(tmp_path / "model.keras")
    with pytest.raises(UnsupportedArchitectureError) as refused:
        load_weights(tmp_path / "model.keras")
    message = refused.value.message
    assert "layer '" in message and expected in message, message
    assert "will not build a main.py that plays differently" in message
