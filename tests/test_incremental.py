"""The incremental forward pass gives the dense pass's Q-values on real observations, for every kind of network."""

import numpy as np
import pytest

from agent_runtime import incremental as incremental_module
from agent_runtime.architecture import Architecture, ConvSpec, PoolSpec
from agent_runtime.incremental import IncrementalForward
from agent_runtime.numpy_model import NumpySplitterConvNN
from agent_runtime.observation import FrameDifference
from builder.keras_config import architecture_from_config
from builder.verify import gfootball_frame
from builder.weight_order import candidate_orders
from tests.user_model import notebook_model

VARIANTS = {
    "notebook": {},
    "max-pool": {"max_pool": True, "dense_units": (256, 128)},
    "dueling": {"dueling": True, "dense_units": (256,)},
}


def _networks(variant: str) -> tuple:
    model = notebook_model(seed=9, **VARIANTS[variant])
    arch, _ = architecture_from_config({"class_name": "Functional", "config": model.get_config()})
    names = [name for name, _ in candidate_orders(arch)[0]]
    network = NumpySplitterConvNN(arch, list(zip(names, model.get_weights(), strict=True)))
    return network, IncrementalForward(network)


@pytest.fixture(scope="module")
def real_inputs(both_sides_observations) -> np.ndarray:
    """Model inputs of both sides of a long real match, each side through its own frame buffer."""
    inputs = []
    for side in (both_sides_observations[0::2], both_sides_observations[1::2]):
        frames = FrameDifference(render=gfootball_frame)
        inputs.extend(frames.push_raw(raw) for raw in side[:1100])
    return np.stack(inputs)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("way", ["incremental", "whole"])
def test_incremental_equals_dense_on_real_observations(variant, way, real_inputs, monkeypatch):
    """Every layer the incremental way (thresholds off), then every layer computed whole by the fallback: both give
    the dense pass's Q-values on 2,200 real inputs of both sides."""
    share = 2.0 if way == "incremental" else -1.0
    monkeypatch.setattr(incremental_module, "DENSE_ABOVE", share)
    monkeypatch.setattr(incremental_module, "FC1_DENSE_ABOVE", share)
    network, incremental = _networks(variant)
    assert len(real_inputs) >= 2000
    worst, dense_layers = 0.0, set()
    for x in real_inputs:
        worst = max(worst, float(np.max(np.abs(incremental(x) - network(x)))))
        dense_layers.add(incremental.last_dense_layers)
    assert worst <= 1e-5
    assert dense_layers == ({0} if way == "incremental" else {len(incremental.stages) + 1})


def test_the_notebook_net_stays_incremental_and_a_max_pool_net_mixes(real_inputs):
    """With the measured thresholds: the notebook net computes no layer whole on real inputs (a quarter of fc1's
    input features at most moves); a max-pool net (2x2 positions per branch before fc1, nearly all touched by any
    change) computes some layers whole on some steps and none on others. Q-values equal the dense pass's."""
    shares = {}
    for variant in ("notebook", "max-pool"):
        network, incremental = _networks(variant)
        dense_layers, fractions = [], []
        for x in real_inputs[::4]:
            np.testing.assert_allclose(incremental(x), network(x), atol=1e-5)
            dense_layers.append(incremental.last_dense_layers)
            fractions.append(incremental.last_changed_fraction)
        shares[variant] = np.mean(np.asarray(dense_layers) > 0)
        assert 0.0 < np.mean(fractions) < 0.5
    assert shares["notebook"] <= 0.01
    assert 0.05 < shares["max-pool"] < 0.95


def test_a_frame_where_every_pixel_changes_computes_every_layer_whole(real_inputs):
    network, incremental = _networks("notebook")
    everything = np.random.default_rng(0).choice([-1.0, 1.0], size=(72, 96, 4)).astype(np.float32)
    np.testing.assert_allclose(incremental(everything), network(everything), atol=1e-5)
    assert incremental.last_dense_layers == len(incremental.stages) + 1
    empty = np.zeros((72, 96, 4), np.float32)  # nothing changed: exactly the precomputed response
    np.testing.assert_allclose(incremental(empty), network(empty), atol=1e-5)
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
    network = NumpySplitterConvNN(arch, named)
    incremental = IncrementalForward(network)
    for density in (0.0005, 0.002, 0.01, 0.2):
        for _ in range(5):
            x = rng.choice([-1.0, 0.0, 1.0], size=(72, 96, 4), p=[density / 2, 1 - density, density / 2])
            x = x.astype(np.float32)
            np.testing.assert_allclose(incremental(x), network(x), rtol=1e-5, atol=1e-5)


def test_a_new_match_mid_stream_changes_nothing(both_sides_observations):
    """The incremental pass keeps no state between steps (its reference is the all-zero input), so a buffer
    restart is only the observation pipeline's business: after it, both paths still agree."""
    network, incremental = _networks("max-pool")
    frames = FrameDifference(render=gfootball_frame)
    left = both_sides_observations[0::2]
    for raw in left[:40] + left[:40]:  # the second pass starts a new match (steps_left goes back up)
        x = frames.push_raw(raw)
        np.testing.assert_allclose(incremental(x), network(x), atol=1e-5)
    assert frames._steps_left == left[39]["steps_left"]
