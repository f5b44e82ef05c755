"""`--encoder FILE.py`: a competitor's own features, embedded verbatim in main.py and used alike by the
verification; a file that cannot work is one line, exit 2, and nothing written."""

import textwrap

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from builder import build
from common.kaggle import load_like_kaggle
from gfsub.cli import app
from tests.helpers import main_py_q_values

pytestmark = pytest.mark.engine  # builds main.py files on the real engine

ENCODER = '''
"""Engineered features: the ball and the active player, relative to each other, and the last ball move."""
import numpy as np

LAST_BALL = []


def reset():
    del LAST_BALL[:]


def encode(obs):
    ball = np.asarray(obs["ball"][:2], dtype=np.float32)
    me = np.asarray(obs["left_team"][obs["active"]] if obs["active"] >= 0 else [0.0, 0.0], dtype=np.float32)
    moved = ball - (LAST_BALL[-1] if LAST_BALL else ball)
    LAST_BALL.append(ball)
    owner = np.eye(3, dtype=np.float32)[obs["ball_owned_team"] + 1]
    return np.concatenate([ball, me, ball - me, moved, owner])
'''


@pytest.fixture(scope="module")
def encoded_model(tmp_path_factory, both_sides_observations):
    """A dense net fitted on the encoder's features of real observations."""
    folder = tmp_path_factory.mktemp("encoder")
    (folder / "features.py").write_text(ENCODER)
    namespace: dict = {}
    exec(ENCODER, namespace)
    features = np.stack([namespace["encode"](raw) for raw in both_sides_observations[0::2][:400]])
    keras.utils.set_random_seed(0)
    x = keras.Input((11,))
    model = keras.Model(x, keras.layers.Dense(19)(keras.layers.Dense(32, activation="tanh")(x)))
    targets = np.tanh(features @ np.random.default_rng(0).normal(size=(11, 19))) * 3
    model.compile("adam", "mse")
    model.fit(features, targets, epochs=20, verbose=0)
    model.save(folder / "model.keras")
    return folder, model, namespace


def test_the_encoder_is_embedded_verbatim_and_main_py_plays_like_the_model(encoded_model, both_sides_observations,
                                                                           tmp_path):
    folder, model, namespace = encoded_model
    result = build(folder / "model.keras", tmp_path / "main.py", encoder=folder / "features.py", verify_steps=20,
                   targets="kaggle-2020,kaggle-2026")
    assert result.parity.passed and result.observation_origin == "given (--encoder)"
    source = result.output.read_text()
    assert textwrap.dedent(ENCODER).strip() in source and "ENCODER = (encode, reset, None)" in source
    actions = set()
    for side in (both_sides_observations[0::2], both_sides_observations[1::2]):
        namespace["reset"]()
        want = model.predict(np.stack([namespace["encode"](raw) for raw in side[:300]]), verbose=0)
        got = main_py_q_values(result.output, side[:300])
        assert np.max(np.abs(got - want)) <= 1e-4 * max(1.0, float(np.abs(want).max()))
        actions.update(want.argmax(axis=1).tolist())
    assert len(actions) > 1, "trained: the greedy action depends on the features"


BAD = {
    "no encode": ("def features(obs):\n    return [0.0]\n", "defines no function encode(obs)"),
    "syntax": ("def encode(obs)\n    return obs\n", "does not parse as Python 3.7"),
    "walrus": ("def encode(obs):\n    if (n := 3):\n        return n\n", "does not parse as Python 3.7"),
    "newer numpy": ("import numpy as np\n\ndef encode(obs):\n    return np.concat([[1.0]])\n", "np.concat"),
    "a name of main.py": ("def softmax(x):\n    return x\n\ndef encode(obs):\n    return [0.0]\n",
                          "defines softmax, a name main.py's own code uses"),
    "an import": ("import torch\n\ndef encode(obs):\n    return [0.0]\n", "imports torch"),
    "wrong shape": ("import numpy as np\n\ndef encode(obs):\n    return np.zeros(7, np.float32)\n",
                    "gave [(7,)] on the first verify observation; the model's inputs take [(11,)]"),
    "raises": ("def encode(obs):\n    return obs['no such key']\n", "encode(obs) raised KeyError"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_encoder_is_one_line_and_nothing_is_written(case, encoded_model, tmp_path):
    folder, _, _ = encoded_model
    text, expected = BAD[case]
    (tmp_path / "bad.py").write_text(text)
    out = CliRunner().invoke(app, ["build", str(folder / "model.keras"), "-o", str(tmp_path / "new" / "main.py"),
                                   "--encoder", str(tmp_path / "bad.py"), "--verify-steps", "5", "--target",
                                   "current"])
    lines = out.stderr.strip().splitlines()
    assert out.exit_code == 2 and len(lines) == 1, out.stderr
    assert "bad.py" in lines[0] and expected in lines[0]
    assert not (tmp_path / "new").exists()


DECIDE = '''

def decide(outputs, obs):
    """Without the ball, the second-best action (a rule around the net); else the greedy one."""
    values = np.array(list(outputs.values())[0][0], dtype=np.float64)
    if obs["ball_owned_team"] != 0:
        values[int(np.argmax(values))] = -np.inf
    return int(np.argmax(values))
'''


def test_a_keras_model_with_decide_plays_decides_action(encoded_model, both_sides_observations, tmp_path):
    """decide() around a Keras model: the reference is the model served one step at a time by its own Keras, and
    main.py plays decide()'s action, which differs from the argmax where the mask bites."""
    folder, model, namespace = encoded_model
    (tmp_path / "deciding.py").write_text(ENCODER + DECIDE)
    result = build(folder / "model.keras", tmp_path / "main.py", encoder=tmp_path / "deciding.py", verify_steps=30,
                   targets="kaggle-2020")
    assert result.parity.passed and "step by step in the shell" in result.parity.reference
    assert "ENCODER = (encode, reset, decide)" in result.output.read_text()
    exec(DECIDE, namespace)
    side = both_sides_observations[0::2][:300]
    namespace["reset"]()
    values = model.predict(np.stack([namespace["encode"](raw) for raw in side]), verbose=0)
    want = [namespace["decide"]({"q": row[None]}, raw) for row, raw in zip(values, side, strict=True)]
    agent = load_like_kaggle(result.output)
    assert [agent({"players_raw": [raw]})[0] for raw in side] == want
    assert want != values.argmax(axis=1).tolist(), "the mask changed some actions"
