"""The incremental forward pass gives the dense pass's values on real observations, for every kind of network it
covers: the notebook's branches, a plain CNN on stacked SMM frames, BatchNorm and per-position layers, a model
with a second (simple115) input beside the SMM one, and conv / pool geometries the notebook net does not use."""

import keras
import numpy as np
import pytest

from agent_runtime import incremental as incremental_module
from agent_runtime.graph import GraphModel
from agent_runtime.incremental import incremental_forward
from builder.keras.splitter import Architecture, ConvSpec, PoolSpec, splitter_graph
from builder.reference_inputs import reference_inputs
from tests.helpers import NOTEBOOK_SPEC, graph_model
from tests.user_model import notebook_model

VARIANTS = {
    "notebook": {},
    "max-pool": {"max_pool": True, "dense_units": (256, 128)},
    "dueling": {"dueling": True, "dense_units": (256,)},
}
STACKED = [{"representation": "smm", "scale": None, "diff": False, "stack": 4, "fill": "first",
            "stack_axis": "concat"}]
SIMPLE115 = {"representation": "simple115v2", "scale": None, "diff": False, "stack": 1, "fill": "first",
             "stack_axis": "concat"}


def stacked_cnn(seed: int = 0) -> keras.Model:
    """A nature-CNN-like net on 4 stacked SMM frames: /255 inside, BatchNorm and ReLU as layers, valid padding."""
    keras.utils.set_random_seed(seed)
    frames = keras.Input((72, 96, 16), name="smm")
    x = keras.layers.Rescaling(1 / 255)(frames)
    x = keras.layers.Conv2D(8, 8, strides=4, padding="valid")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(12, 4, strides=2, activation="elu")(x)
    x = keras.layers.MaxPooling2D(2, padding="same")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(frames, keras.layers.Dense(19)(keras.layers.Dense(64, activation="relu")(x)), name="cnn")
    _noisy(model, seed)
    return model


def two_input(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    smm, vector = keras.Input((72, 96, 4), name="smm"), keras.Input((115,), name="vec")
    x = keras.layers.Conv2D(8, 5, strides=3, padding="same", activation="relu")(smm)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Concatenate()([keras.layers.Flatten()(x), vector])
    model = keras.Model([smm, vector], keras.layers.Dense(19)(keras.layers.Dense(32, activation="tanh")(x)),
                        name="two_input")
    _noisy(model, seed)
    return model


def _noisy(model, seed: int) -> None:
    """Random biases and BatchNorm statistics, so that nothing is the identity by accident."""
    rng = np.random.default_rng(seed)
    values = []
    for weight, variable in zip(model.get_weights(), model.weights, strict=True):
        if weight.ndim > 1:
            values.append(weight)
        elif variable.path.endswith("moving_variance"):
            values.append(rng.uniform(0.5, 1.5, weight.shape).astype(np.float32))
        else:
            values.append(rng.normal(0, 0.05, weight.shape).astype(np.float32))
    model.set_weights(values)


@pytest.fixture(scope="module")
def sides(both_sides_observations) -> list:
    """The raw observations of each side of a long real match."""
    return [both_sides_observations[0::2][:1100], both_sides_observations[1::2][:1100]]


@pytest.fixture(scope="module")
def real_inputs(sides) -> dict:
    """Model inputs of both sides, each side through its own buffers: the notebook's, stacked, and simple115."""
    found = {"notebook": [], "stacked": [], "simple115": []}
    for side in sides:
        found["notebook"].append(reference_inputs(NOTEBOOK_SPEC, side)[0])
        found["stacked"].append(reference_inputs(STACKED, side)[0])
        found["simple115"].append(reference_inputs([SIMPLE115], side)[0])
    return {key: np.concatenate(value) for key, value in found.items()}


def _forwards(model, folder, specs) -> tuple:
    dense = graph_model(model, folder)
    incremental = incremental_forward(dense, specs)
    assert incremental is not None, "the graph starts with layers the incremental pass covers"
    return dense, incremental


def _compare(dense, incremental, batches, atol=1e-5) -> list:
    worst, whole = 0.0, []
    for inputs in zip(*batches, strict=True):
        inputs = [x[None] for x in inputs]
        worst = max(worst, float(np.max(np.abs(incremental(inputs) - dense(inputs)))))
        whole.append(incremental.last_dense_layers)
    assert worst <= atol
    return whole


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("way", ["incremental", "whole"])
def test_incremental_equals_dense_on_real_observations(variant, way, real_inputs, monkeypatch, tmp_path):
    """Every layer the incremental way (thresholds off), then every layer computed whole by the fallback: both give
    the dense pass's values on 2,200 real inputs of both sides."""
    share = 2.0 if way == "incremental" else -1.0
    monkeypatch.setattr(incremental_module, "DENSE_ABOVE", share)
    monkeypatch.setattr(incremental_module, "DENSE_LAYER_WHOLE_ABOVE", share)
    dense, incremental = _forwards(notebook_model(seed=9, **VARIANTS[variant]), tmp_path, NOTEBOOK_SPEC)
    assert len(real_inputs["notebook"]) >= 2000
    whole = _compare(dense, incremental, [real_inputs["notebook"]])
    stages = len(incremental.prefixes[0].stages)
    assert set(whole) == ({0} if way == "incremental" else {stages + 1})


@pytest.mark.parametrize("way", ["incremental", "whole"])
def test_a_stacked_smm_cnn_with_batchnorm_and_rescaling_is_incremental_and_exact(way, real_inputs, monkeypatch,
                                                                                 tmp_path):
    share = 2.0 if way == "incremental" else -1.0
    monkeypatch.setattr(incremental_module, "DENSE_ABOVE", share)
    monkeypatch.setattr(incremental_module, "DENSE_LAYER_WHOLE_ABOVE", share)
    dense, incremental = _forwards(stacked_cnn(seed=3), tmp_path, STACKED)
    assert [stage.__class__.__name__ for stage in incremental.prefixes[0].stages] == [
        "_Stage", "_PointwiseStage", "_PointwiseStage", "_Stage", "_Stage"]
    assert incremental.prefixes[0].scale == np.float32(1 / 255) and len(incremental.ends) == 1
    _compare(dense, incremental, [real_inputs["stacked"][::2]])


def test_an_smm_input_beside_a_simple115_one_corrects_only_its_own_rows(real_inputs, tmp_path):
    dense, incremental = _forwards(two_input(seed=4), tmp_path, NOTEBOOK_SPEC + [SIMPLE115])
    assert len(incremental.ends) == 1 and [isinstance(part, str) for part, _, _ in incremental.ends[0].parts] == [
        False, True]
    _compare(dense, incremental, [real_inputs["notebook"][::3], real_inputs["simple115"][::3]])


def test_the_notebook_net_stays_incremental_and_a_max_pool_net_mixes(real_inputs, tmp_path):
    """With the measured thresholds: the notebook net computes no layer whole on real inputs (a quarter of fc1's
    input features at most moves); a max-pool net (2x2 positions per branch before fc1, nearly all touched by any
    change) computes some layers whole on some steps and none on others. Values equal the dense pass's."""
    shares = {}
    for variant in ("notebook", "max-pool"):
        dense, incremental = _forwards(notebook_model(seed=9, **VARIANTS[variant]), tmp_path, NOTEBOOK_SPEC)
        whole, fractions = [], []
        for x in real_inputs["notebook"][::4]:
            np.testing.assert_allclose(incremental([x[None]]), dense([x[None]]), atol=1e-5)
            whole.append(incremental.last_dense_layers)
            fractions.append(incremental.last_changed_fraction)
        shares[variant] = np.mean(np.asarray(whole) > 0)
        assert 0.0 < np.mean(fractions) < 0.5
    assert shares["notebook"] <= 0.01
    assert 0.05 < shares["max-pool"] < 0.95


def test_a_frame_where_every_pixel_changes_computes_every_layer_whole(tmp_path):
    dense, incremental = _forwards(notebook_model(seed=9), tmp_path, NOTEBOOK_SPEC)
    everything = np.random.default_rng(0).choice([-1.0, 1.0], size=(1, 72, 96, 4)).astype(np.float32)
    np.testing.assert_allclose(incremental([everything]), dense([everything]), atol=1e-5)
    assert incremental.last_dense_layers == len(incremental.prefixes[0].stages) + 1
    empty = np.zeros((1, 72, 96, 4), np.float32)  # nothing changed: exactly the precomputed response
    np.testing.assert_allclose(incremental([empty]), dense([empty]), atol=1e-5)
    assert incremental.last_changed_fraction == 0.0 and incremental.last_dense_layers == 0


@pytest.mark.parametrize("kernel, strides, padding, pool", [
    ((3, 3), (2, 2), "same", None),  # odd kernel, even stride: inputs reached by one or two outputs per axis
    ((5, 3), (1, 2), "valid", None),  # no padding: border inputs reach fewer outputs, some none
    ((2, 2), (3, 3), "same", None),  # stride above the kernel: some inputs reach no output at all
    ((4, 4), (2, 2), "same", PoolSpec((3, 3), (2, 2), "same")),  # a pool padded with -inf
])
def test_layer_geometries_on_random_sparse_inputs(kernel, strides, padding, pool):
    """Tables of which output an input reaches, for kernels, strides and paddings the notebook net does not use;
    non-ReLU activations keep base activations non-zero (no shortcut through zeros)."""
    convs = (ConvSpec(6, (4, 4), (2, 2), activation="tanh"),
             ConvSpec(8, kernel, strides, padding=padding, pool=pool, activation="elu"))
    arch = Architecture(convs=convs, dense_units=(32,), dense_activations=("selu",))
    rng = np.random.default_rng(5)
    named = [(name + "/" + var, rng.normal(0, 0.1, size=shape).astype(np.float32))
             for name, shapes in arch.layer_shapes() for var, shape in zip(("kernel", "bias"), shapes, strict=True)]
    dense = GraphModel(splitter_graph(arch).as_data(), named)
    incremental = incremental_forward(dense, NOTEBOOK_SPEC)
    for density in (0.0005, 0.002, 0.01, 0.2):
        for _ in range(5):
            x = rng.choice([-1.0, 0.0, 1.0], size=(1, 72, 96, 4), p=[density / 2, 1 - density, density / 2])
            x = x.astype(np.float32)
            np.testing.assert_allclose(incremental([x]), dense([x]), rtol=1e-5, atol=1e-5)


def test_a_graph_that_starts_otherwise_runs_dense(tmp_path):
    """No SMM input, or an SMM input read first by a layer the pass does not cover: nothing incremental."""
    keras.utils.set_random_seed(0)
    vector = keras.Input((115,))
    dense_net = keras.Model(vector, keras.layers.Dense(19)(vector), name="dense_net")
    assert incremental_forward(graph_model(dense_net, tmp_path), [SIMPLE115]) is None
    frames = keras.Input((72, 96, 4))
    pooled = keras.Model(frames, keras.layers.Dense(19)(keras.layers.GlobalAveragePooling2D()(frames)), name="gap")
    assert incremental_forward(graph_model(pooled, tmp_path), NOTEBOOK_SPEC) is None
