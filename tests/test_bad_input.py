"""Bad input: a one-line error naming the file and the fix, exit code 2, and no main.py left behind."""

import json
import os
import pickle
import zlib

import numpy as np
import pytest
from typer.testing import CliRunner

from gfsub.cli import app
from tests.user_model import notebook_model


class Payload:
    """A pickle that would run a shell command (touch `marker`) if loaded with plain pickle."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def small_weights():
    return notebook_model(seed=4).get_weights()


def _truncate(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _case_missing(tmp, weights):
    return tmp / "nope.keras", [], "no such file"


def _case_unknown(tmp, weights):
    (tmp / "notes.txt").write_text("these are not weights\n")
    return tmp / "notes.txt", [], "not a format gfsub reads"


def _case_empty_dir(tmp, weights):
    (tmp / "export").mkdir()
    return tmp / "export", [], "without saved_model.pb"


def _case_truncated_keras(tmp, weights):
    notebook_model(seed=4).save(tmp / "m.keras")
    _truncate(tmp / "m.keras")
    return tmp / "m.keras", [], "damaged"


def _case_truncated_h5(tmp, weights):
    notebook_model(seed=4).save(tmp / "m.h5")
    _truncate(tmp / "m.h5", 0.3)
    return tmp / "m.h5", [], "damaged"


def _case_corrupt_zlib(tmp, weights):
    data = zlib.compress(pickle.dumps(weights))
    (tmp / "w.zlib").write_bytes(data[: len(data) // 2])
    return tmp / "w.zlib", [], "zlib"


def _case_malicious_pickle(tmp, weights):
    (tmp / "w.zlib").write_bytes(zlib.compress(pickle.dumps([Payload(tmp / "pwned")])))
    return tmp / "w.zlib", [], "refusing to load posix.system"


def _case_wrong_shapes(tmp, weights):
    model = notebook_model(seed=4, dense_units=(256, 128))
    np.savez(tmp / "w.npz", *model.get_weights())
    (tmp / "arch.json").write_text(json.dumps({"dense_units": [512, 256]}))  # not what these weights were trained as
    return tmp / "w.npz", ["--arch", str(tmp / "arch.json")], \
        "layer fc1/kernel: expected shape (13824, 512), found (13824, 256)"


def _case_too_few_arrays(tmp, weights):
    np.savez(tmp / "w.npz", *weights[:-2])
    return tmp / "w.npz", [], "needs 30"


def _case_nan(tmp, weights):
    broken = [w.copy() for w in weights]
    broken[24][3, 5] = np.nan  # fc1 kernel
    np.savez(tmp / "w.npz", *broken)
    return tmp / "w.npz", [], "layer fc1/kernel has 1 NaN values"


def _case_inf_keras(tmp, weights):
    model = notebook_model(seed=4)
    broken = model.get_weights()
    broken[-2][0, 0] = np.inf
    model.set_weights(broken)
    model.save(tmp / "m.keras")
    return tmp / "m.keras", [], "layer output/kernel has 1 inf values"


def _case_wrong_n_actions_npz(tmp, weights):
    np.savez(tmp / "w.npz", *notebook_model(seed=4, n_actions=18).get_weights())
    return tmp / "w.npz", [], "the Q head has 18 actions"


def _case_wrong_n_actions_keras(tmp, weights):
    notebook_model(seed=4, n_actions=21).save(tmp / "m.keras")
    return tmp / "m.keras", [], "the output 'output' has 21 values; Kaggle football takes 19 actions"


def _case_bad_arch_json(tmp, weights):
    np.savez(tmp / "w.npz", *weights)
    (tmp / "arch.json").write_text("{not json")
    return tmp / "w.npz", ["--arch", str(tmp / "arch.json")], "not a usable architecture file"


def _case_bad_fallback(tmp, weights):
    np.savez(tmp / "w.npz", *weights)
    return tmp / "w.npz", ["--fallback-action", "19"], "--fallback-action 19 is out of range — use a value 0..18"


CASES = {name[len("_case_"):]: case for name, case in list(globals().items()) if name.startswith("_case_")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_clear_line(case, tmp_path, small_weights):
    weights_path, extra, expected = CASES[case](tmp_path, small_weights)
    output = tmp_path / "out" / "main.py"
    output.parent.mkdir()
    result = CliRunner().invoke(app, ["build", str(weights_path), "-o", str(output), *extra])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert expected in lines[0]
    assert " — " in lines[0], "the message says what to do"
    if case != "bad_fallback":
        assert str(weights_path if case != "bad_arch_json" else tmp_path / "arch.json") in lines[0]
    assert list(output.parent.iterdir()) == [], "nothing written, not even a partial file"
    assert not (tmp_path / "pwned").exists(), "the pickle ran"


def test_arch_file_disagreeing_with_model_file(tmp_path):
    notebook_model(seed=4).save(tmp_path / "m.keras")
    (tmp_path / "arch.json").write_text(json.dumps({"dense_units": [64]}))
    result = CliRunner().invoke(app, ["build", str(tmp_path / "m.keras"), "-o", str(tmp_path / "main.py"),
                                      "--arch", str(tmp_path / "arch.json")])
    assert result.exit_code == 2 and "drop --arch" in result.stderr
    assert not (tmp_path / "main.py").exists()
