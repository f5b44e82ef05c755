"""Round trip for every input format: a seeded user model -> saved -> gfsub build -> main.py.

main.py's Q-values on real engine observations must match the user's own model (a different
definition, with its own SplitLayer class), which proves each weight landed in the right place.
Files written by TensorFlow 2.3 and 2.15 themselves (Keras 2 .h5 and SavedModel): tests/test_sources.py.
"""

import base64
import json
import pickle
import zlib

import numpy as np
import pytest

from builder import build
from builder.keras.splitter import Architecture
from builder.keras.weight_order import candidate_orders
from tests.helpers import main_py_q_values, model_q_values
from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

VERIFY_STEPS = 40


def _pickled(weights: list) -> bytes:
    return zlib.compress(pickle.dumps(weights))


SAVERS = {
    "keras": ("model.keras", lambda m, p: m.save(p)),
    "h5-keras3-legacy": ("model.h5", lambda m, p: m.save(p)),
    "weights.h5": ("model.weights.h5", lambda m, p: m.save_weights(p)),
    "savedmodel": ("saved_model", lambda m, p: m.export(str(p), verbose=False)),
    "npz": ("weights.npz", lambda m, p: np.savez(p, *m.get_weights())),
    "pickle": ("weights.zlib", lambda m, p: p.write_bytes(_pickled(m.get_weights()))),
    "pickle-base64": ("weights.txt", lambda m, p: p.write_bytes(base64.b64encode(_pickled(m.get_weights())))),
    "keras-no-extension": ("trained_model.bin", lambda m, p: m.save(p.with_suffix(".keras"))
                           or p.with_suffix(".keras").rename(p)),
}
EXPECTED_FORMAT = {"keras-no-extension": "keras", "h5-keras3-legacy": "h5",
                   "pickle-base64": "pickle"}


def _assert_plays_like(model, main_py, observations) -> None:
    want = model_q_values(model, observations)
    got = main_py_q_values(main_py, observations)
    assert np.max(np.abs(got - want)) <= 1e-4
    np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))


@pytest.mark.parametrize("kind", list(SAVERS))
def test_round_trip(kind, tmp_path, notebook_user_model, engine_observations):
    name, save = SAVERS[kind]
    source = tmp_path / name
    save(notebook_user_model, source)
    result = build(source, tmp_path / "main.py", verify_steps=VERIFY_STEPS, targets="current")
    assert result.source.format == EXPECTED_FORMAT.get(kind, kind)
    assert result.parity.passed and result.parity.agreement == 1.0 and result.parity.steps == VERIFY_STEPS
    _assert_plays_like(notebook_user_model, result.output, engine_observations)


def test_branch_major_get_weights_order_is_recognised(tmp_path, notebook_user_model, engine_observations):
    weights = notebook_user_model.get_weights()
    depth_major, branch_major = candidate_orders(Architecture())[:2]
    index = {name: i for i, (name, _) in enumerate(depth_major)}
    np.savez(tmp_path / "w.npz", *[weights[index[name]] for name, _ in branch_major])
    result = build(tmp_path / "w.npz", tmp_path / "main.py", verify_steps=VERIFY_STEPS, targets="current")
    assert result.model.arch == Architecture()
    _assert_plays_like(notebook_user_model, result.output, engine_observations)


def test_max_pool_dueling_variant_from_keras_file(tmp_path, engine_observations):
    model = notebook_model(seed=2, max_pool=True, dueling=True, dense_units=(256, 128))
    model.save(tmp_path / "variant.keras")
    result = build(tmp_path / "variant.keras", tmp_path / "main.py", verify_steps=VERIFY_STEPS, targets="current")
    assert [node["op"] for node in result.model.graph.nodes].count("max_pool2d") == 12
    assert result.model.graph.node("output")["op"] == "dueling"
    _assert_plays_like(model, result.output, engine_observations)


def test_max_pool_variant_weights_only_with_arch_file(tmp_path, engine_observations):
    model = notebook_model(seed=3, max_pool=True, dense_units=(512, 256))
    np.savez(tmp_path / "w.npz", *model.get_weights())
    arch = Architecture().to_dict()
    for conv in arch["convs"]:
        conv["pool"] = {"size": [2, 2], "strides": [2, 2], "padding": "same"}
    (tmp_path / "arch.json").write_text(json.dumps(arch))
    result = build(tmp_path / "w.npz", tmp_path / "main.py", arch_file=tmp_path / "arch.json",
                   verify_steps=VERIFY_STEPS)
    assert result.n_params == model.count_params()
    _assert_plays_like(model, result.output, engine_observations)
