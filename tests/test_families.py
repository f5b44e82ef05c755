"""Any Keras model on any standard observation: each family competitors train, written and trained by the real
Keras of its era (tests/era_families.py), builds with its observation spec, passes its own verification in
kaggle-2020 and kaggle-2026, and plays like the model's own predictions on observations of both sides."""

import json
import subprocess
from pathlib import Path

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from builder import build
from builder.observations import fit_to_inputs, parse_specs
from builder.reference_inputs import reference_inputs
from gfsub.cli import app
from runtimes.registry import ensure_runtime, get_spec
from tests.helpers import main_py_q_values

pytestmark = pytest.mark.engine  # builds main.py files on the real engine

ERA_SCRIPT = Path(__file__).with_name("era_families.py")
TARGETS = "kaggle-2020,kaggle-2026"
# family: (its --observation, or None where gfsub infers it from the input shape; its input shapes)
FAMILIES = {
    "dense_simple115": (None, [(115,)]),
    "simple115_stack2": ("simple115v2:stack=2", [(115, 2)]),
    "nature_cnn": ("smm:stack=4", [(72, 96, 16)]),
    "impala": ("smm:stack=4", [(72, 96, 16)]),
    "two_input": ("smm:scale=255,simple115v2", [(72, 96, 4), (115,)]),
    "batchnorm_cnn": (None, [(72, 96, 4)]),
    "sequential_elu": ("simple115", [(115,)]),
    "functional_ops": (None, [(115,)]),
    "lstm_frames": ("simple115v2:stack=8", [(115, 8)]),
    "gru_frames": ("simple115v2:stack=8", [(920,)]),
    "gru_reset_before": ("simple115:stack=4", [(115, 4)]),
    "simple_rnn_frames": ("simple115v2:stack=4", [(460,)]),
    "lstm_state": ("simple115v2:stack=8", [(115, 8)]),
}
INFERRED = {(115,): "simple115v2", (72, 96, 4): "smm:scale=255:diff"}
# era runtime: (the formats its Keras saves, the families written there)
ERAS = {"current": (["keras"], list(FAMILIES)),
        "kaggle-2020": (["h5", "savedmodel"], list(FAMILIES)),
        "keras2": (["h5"], ["functional_ops", "lstm_state"])}  # TFOpLambda (only tf.keras 2.4 - 2.15 writes it)
SAVEDMODEL_TOO = ("impala", "lstm_state")  # families with several outputs, also built from their SavedModel


def checked(side: list) -> list:
    """The 150 observations of a side each family is checked on, spread over the whole match (kick-off, open play,
    set pieces): the first 150 steps alone are one kick-off, where a trained net may well choose one action."""
    return side[::17][:150]


def _specs(family: str) -> list:
    text, shapes = FAMILIES[family]
    text = text or ",".join(INFERRED[shape] for shape in shapes)
    return fit_to_inputs(parse_specs(text), [f"input_{i}" for i in range(len(shapes))], shapes)


@pytest.fixture(scope="module")
def sides(both_sides_observations) -> list:
    """Raw observations of each side of a real match: training data from the first, checks on both."""
    return [both_sides_observations[0::2], both_sides_observations[1::2]]


@pytest.fixture(scope="module")
def trained_eras(tmp_path_factory, sides):
    """runtime -> its era (see `era`), trained once per runtime: each case of a parametrize that names `era`
    indirectly beside other values is a fixture parameter of its own, so a module-scoped `era` alone was set up
    again for every case (25 trainings for 3 eras)."""
    made = {}

    def trained(runtime: str) -> tuple:
        if runtime not in made:
            made[runtime] = train_era(runtime, tmp_path_factory, sides)
        return made[runtime]

    return trained


@pytest.fixture
def era(request, trained_eras) -> tuple:
    """(runtime, {family: [files]}, folder): the families trained and saved by the era's own Keras."""
    return trained_eras(request.param)


def train_era(runtime: str, tmp_path_factory, sides: list) -> tuple:
    formats, families = ERAS[runtime]
    folder = tmp_path_factory.mktemp(runtime)
    spec = {"out": str(folder), "families": families, "formats": formats, "data": {}, "check": {},
            "weights_only": True}
    for family in families:
        specs = _specs(family)
        np.savez(folder / f"{family}-data.npz", *reference_inputs(specs, sides[0][400:800]))
        spec["data"][family] = str(folder / f"{family}-data.npz")
        spec["check"][family] = []
        for k, side in enumerate(sides):
            np.savez(folder / f"{family}-check-{k}.npz", *reference_inputs(specs, checked(side)))
            spec["check"][family].append(str(folder / f"{family}-check-{k}.npz"))
    python = ensure_runtime(get_spec(runtime)).python
    out = subprocess.run([python, str(ERA_SCRIPT), json.dumps(spec)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return runtime, json.loads((folder / "written.json").read_text())["written"], folder


CASES = [(runtime, family, index) for runtime, (formats, families) in ERAS.items() for family in families
         for index in range(len(formats)) if index == 0 or family in SAVEDMODEL_TOO]


@pytest.mark.parametrize("era, family, index", CASES, indirect=["era"])
def test_the_family_builds_verifies_in_both_kaggle_runtimes_and_plays_like_its_model(era, family, index, sides,
                                                                                     tmp_path):
    _, written, folder = era
    source = Path(written[family][index])
    text, _ = FAMILIES[family]
    result = build(source, tmp_path / "main.py", observation=text, verify_steps=20, targets=TARGETS)
    assert result.parity.passed and result.parity.agreement == 1.0, result.parity.summary()
    assert [row.runtime for row in result.parity.runtimes] == TARGETS.split(",")
    assert "the source model itself" in result.parity.reference
    assert result.observation_origin.startswith("given" if text else "inferred")
    assert result.output_kind == ("policy logits" if family == "impala" else "Q-values")
    actions = set()
    for k, side in enumerate(sides):
        want = np.load(folder / f"{family}-check-{k}.npy")
        got = main_py_q_values(result.output, checked(side))
        assert np.max(np.abs(got - want)) <= 1e-4 * max(1.0, float(np.max(np.abs(want))))
        np.testing.assert_array_equal(got.argmax(axis=1), want.argmax(axis=1))
        actions.update(want.argmax(axis=1).tolist())
    assert len(actions) > 1, "trained: the greedy action depends on the input"


@pytest.mark.parametrize("era, family, weights", [
    ("current", "impala", "-weights.npz"), ("current", "two_input", ".weights.h5"),
    ("kaggle-2020", "batchnorm_cnn", "-weights.npz"), ("kaggle-2020", "functional_ops", ".weights.h5"),
    ("current", "lstm_state", ".weights.h5"), ("kaggle-2020", "gru_reset_before", "-weights.npz"),
], indirect=["era"])
def test_weights_only_files_build_with_the_models_own_json_and_keras_rebuilding_it(era, family, weights, sides,
                                                                                     tmp_path):
    """get_weights() arrays (in Keras' order) or save_weights(), with --arch model.to_json(): the reference is the
    model Keras itself rebuilds from the JSON and gives the weights, in the runtime of the JSON's Keras."""
    runtime, _, folder = era
    text, _ = FAMILIES[family]
    result = build(folder / f"{family}{weights}", tmp_path / "main.py", arch_file=folder / f"{family}.json",
                   observation=text, verify_steps=20, targets="kaggle-2020,kaggle-2026")
    assert result.parity.passed and result.parity.agreement == 1.0
    assert f"rebuilt by Keras from its own JSON, given its weights by Keras, in runtime {runtime}" in \
        result.parity.reference
    want = np.load(folder / f"{family}-check-0.npy")
    got = main_py_q_values(result.output, checked(sides[0]))
    assert np.max(np.abs(got - want)) <= 1e-4 * max(1.0, float(np.max(np.abs(want))))


def test_a_model_with_several_outputs_takes_output_and_names_them_when_it_cannot_choose(tmp_path):
    keras.utils.set_random_seed(0)
    x = keras.Input((115,))
    h = keras.layers.Dense(16, activation="relu")(x)
    model = keras.Model(x, [keras.layers.Dense(19, name="policy")(h), keras.layers.Dense(19, name="q")(h)])
    model.save(tmp_path / "two_heads.keras")
    out = CliRunner().invoke(app, ["build", str(tmp_path / "two_heads.keras"), "-o", str(tmp_path / "main.py")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "policy (19 values), q (19 values)" in out.stderr and "--output NAME" in out.stderr
    chosen = build(tmp_path / "two_heads.keras", tmp_path / "main.py", output_name="q", verify_steps=10,
                   targets="current")
    assert chosen.parity.passed and chosen.output_name == "q" and "--output q" in chosen.output.read_text()[:600]


def test_a_model_gfsub_cannot_reproduce_is_refused_and_nothing_is_written(tmp_path):
    keras.utils.set_random_seed(0)
    x = keras.Input((115,))
    recurrent = keras.layers.ConvLSTM1D(4, 3)(keras.layers.Reshape((5, 23, 1))(x))
    keras.Model(x, keras.layers.Dense(19)(keras.layers.Flatten()(recurrent))).save(tmp_path / "conv_lstm.keras")
    out = CliRunner().invoke(app, ["build", str(tmp_path / "conv_lstm.keras"), "-o",
                                   str(tmp_path / "out" / "main.py")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "(ConvLSTM1D)" in out.stderr and "conv_lstm.keras" in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_shape_gfsub_has_no_default_for_needs_observation_and_lists_what_fits(tmp_path):
    keras.utils.set_random_seed(0)
    x = keras.Input((72, 96, 16))
    keras.Model(x, keras.layers.Dense(19)(keras.layers.GlobalMaxPooling2D()(x))).save(tmp_path / "stack.keras")
    out = CliRunner().invoke(app, ["build", str(tmp_path / "stack.keras"), "-o", str(tmp_path / "main.py")])
    assert out.exit_code == 2 and "need --observation" in out.stderr and "smm:stack=4" in out.stderr
    wrong = CliRunner().invoke(app, ["build", str(tmp_path / "stack.keras"), "-o", str(tmp_path / "main.py"),
                                     "--observation", "smm:stack=2"])
    assert wrong.exit_code == 2 and "(72, 96, 8)" in wrong.stderr and "use a SPEC that fits: smm:stack=4" in \
        wrong.stderr
    assert not (tmp_path / "main.py").exists()
