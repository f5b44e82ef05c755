"""The incremental forward pass gives the dense pass's Q-values on real observations, for every kind of network."""

import numpy as np
import pytest

from agent_runtime import incremental as incremental_module
from agent_runtime.incremental import IncrementalForward
from agent_runtime.numpy_model import NumpySplitterConvNN
from agent_runtime.observation import FrameDifference
from builder.keras_config import architecture_from_config
from builder.validate import candidate_orders
from builder.verify import gfootball_frame
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
def test_incremental_equals_dense_on_real_observations(variant, real_inputs, monkeypatch):
    """With the dense fallback switched off, so that every step (pooling included) takes the incremental path."""
    monkeypatch.setattr(incremental_module, "DENSE_ABOVE", 2.0)
    network, incremental = _networks(variant)
    assert len(real_inputs) >= 2000
    worst = max(float(np.max(np.abs(incremental(x) - network(x)))) for x in real_inputs)
    assert worst <= 1e-5


@pytest.mark.parametrize("variant, incremental_share", [("notebook", 0.75), ("max-pool", 0.0)])
def test_the_fallback_keeps_the_cheaper_path(variant, incremental_share, real_inputs):
    """The notebook net mostly stays incremental; a max-pool net (2x2 positions per branch before fc1, nearly all
    touched by any change) mostly falls back to its cheap dense pass. Both give the dense Q-values."""
    network, incremental = _networks(variant)
    fractions = []
    for x in real_inputs[::4]:
        np.testing.assert_allclose(incremental(x), network(x), atol=1e-5)
        fractions.append(incremental.last_changed_fraction)
    assert np.mean(np.asarray(fractions) < 1.0) >= incremental_share


def test_a_frame_where_every_pixel_changes_takes_the_dense_path(real_inputs):
    network, incremental = _networks("notebook")
    everything = np.random.default_rng(0).choice([-1.0, 1.0], size=(72, 96, 4)).astype(np.float32)
    np.testing.assert_allclose(incremental(everything), network(everything), atol=1e-5)
    assert incremental.last_changed_fraction == 1.0
    empty = np.zeros((72, 96, 4), np.float32)  # nothing changed: exactly the precomputed response
    np.testing.assert_allclose(incremental(empty), network(empty), atol=1e-5)
    assert incremental.last_changed_fraction == 0.0


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
