"""The numpy backend: same Q-values as Keras, float16 storage, and a main.py that never imports TensorFlow."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from builder import build
from tests.helpers import graph_model, notebook_inputs
from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

VARIANTS = {
    "notebook": {},
    "max-pool": {"max_pool": True, "dense_units": (512, 256)},
    "dueling": {"dueling": True},
    "max-pool-dueling-valid-sizes": {"max_pool": True, "dueling": True, "dense_units": (128,),
                                     "convs": ((8, 5, 3), (12, 3, 1))},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_numpy_forward_matches_keras(variant, engine_observations, tmp_path):
    model = notebook_model(seed=6, **VARIANTS[variant])
    network = graph_model(model, tmp_path)
    rng = np.random.default_rng(0)
    random_inputs = rng.choice([-1.0, 0.0, 1.0], size=(8, 72, 96, 4), p=[0.1, 0.8, 0.1]).astype(np.float32)
    for inputs in (random_inputs, notebook_inputs(engine_observations[:40])):
        want = np.asarray(model.predict_on_batch(inputs))
        got = np.concatenate([network([x[None]]) for x in inputs])
        assert np.max(np.abs(got - want)) <= 1e-4
        np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))


def test_float16_weights_halve_main_py_and_keep_agreement(tmp_path, notebook_user_model):
    notebook_user_model.save(tmp_path / "model.keras")
    full = build(tmp_path / "model.keras", tmp_path / "main32.py", verify_steps=60, targets="current")
    half = build(tmp_path / "model.keras", tmp_path / "main16.py", verify_steps=60, weights_dtype="float16",
                 targets="current")
    assert 0.4 < half.main_py_bytes / full.main_py_bytes < 0.6
    assert half.parity.passed and half.parity.agreement >= 0.99
    assert "weights stored as float16" in (tmp_path / "main16.py").read_text()[:2000]


BLOCK_TENSORFLOW = textwrap.dedent("""
    import sys

    class BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ImportError(f"{name} is blocked in this test")
            return None

    sys.meta_path.insert(0, BlockTensorFlow())
    from common.kaggle import make_football

    env = make_football(steps=60, team_2=0, logdir=sys.argv[2])
    steps = env.run([sys.argv[1], "do_nothing"])
    import json
    print(json.dumps({
        "status": [s.status for s in steps[-1]],
        "stderr": [log[0].get("stderr", "") for log in env.logs[1:] if log],
        "tensorflow_loaded": any(m.split(".")[0] == "tensorflow" for m in sys.modules),
    }))
""")


def test_numpy_main_py_plays_where_tensorflow_cannot_be_imported(tmp_path, notebook_user_model):
    notebook_user_model.save(tmp_path / "model.keras")
    result = build(tmp_path / "model.keras", tmp_path / "main.py", verify_steps=20, backend="numpy", targets="current")
    script = tmp_path / "run.py"
    script.write_text(BLOCK_TENSORFLOW)
    done = subprocess.run([sys.executable, str(script), str(result.output), str(tmp_path / "logs")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == ["DONE", "DONE"]
    assert not any(report["stderr"]), report["stderr"][:2]
    assert report["tensorflow_loaded"] is False
