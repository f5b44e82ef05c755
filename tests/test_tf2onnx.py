"""A Keras policy converted by real tf2onnx (tests/tf2onnx_family/make.py: tf.keras 2.15, tf2onnx 1.17, opset 15):
NHWC convolutions written as Transpose + Conv + Transpose, Dense as MatMul + Add, a dynamic batch axis."""

import json

import numpy as np
import pytest

from builder import build
from tests.helpers import main_py_q_values
from tests.tf2onnx_family import FILES, NAME

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

STEPS = 200  # observations of each side checked here


def test_the_file_was_written_by_tf2onnx():
    made = json.loads((FILES / "made.json").read_text())[NAME]
    proto = onnx.load(str(FILES / f"{NAME}.onnx"))
    assert proto.producer_name == "tf2onnx" and made["tf2onnx"] == proto.producer_version.split()[0]
    assert sorted({node.op_type for node in proto.graph.node}) == made["ops"]
    assert {"Transpose", "Conv", "MatMul"} <= set(made["ops"])


def test_a_tf2onnx_file_builds_and_plays_like_onnxruntime_on_both_sides(tmp_path, both_sides_observations):
    from gfootball.env import observation_preprocessing

    result = build(FILES / f"{NAME}.onnx", tmp_path / "main.py", observation="smm", verify_steps=60,
                   targets="kaggle-2020,kaggle-2026")
    assert result.parity.passed, result.parity.summary()
    assert [row.runtime for row in result.parity.runtimes] == ["kaggle-2020", "kaggle-2026"]
    assert "onnxruntime" in result.parity.reference
    session = ort.InferenceSession(str(FILES / f"{NAME}.onnx"), providers=["CPUExecutionProvider"])
    seen = set()
    for side in (both_sides_observations[0::2][:STEPS], both_sides_observations[1::2][:STEPS]):
        frames = observation_preprocessing.generate_smm(side).astype(np.float32)
        want = session.run(None, {"smm": frames})[0].astype(np.float64)
        got = main_py_q_values(result.output, side)
        assert np.all(np.abs(got - want) <= 1e-4 * np.maximum(1.0, np.abs(want)))
        seen.update(np.argmax(want, axis=1).tolist())
    assert len(seen) > 1, "trained: the action depends on the observation"
