"""PyTorch agents through the ONNX front door: files written by real torch exporters (tests/torch_families/make.py,
torch 2.13: the TorchScript exporter at opsets 13, 17 and 20, the dynamo exporter at 18 and 21), trained on real
observations.

Each family is built with its encoder, verified by gfsub against onnxruntime on a real match in kaggle-2020 and
kaggle-2026, and then checked here on its own terms: this file runs the ONNX file with onnxruntime and the encoder,
carrying the state itself, on observations of both sides, and main.py must give the same values and actions.
"""

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from builder import build
from gfsub.cli import app
from tests.helpers import as_kaggle, main_py_q_values
from tests.torch_families import FILES, write_encoder

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.engine

# family: (encoder variant or --observation, --state, what it covers)
FAMILIES = {
    "mlp_mask_ts13": ("masked", None, "LayerNorm as opset 13 writes it, GELU (Erf), a mask by Where; a dict encoder"),
    "mlp_mask_dynamo": ("masked", None, "LayerNormalization, the mask by NonZero + ScatterND"),
    "mlp_mask_ts20": ("masked", None, "GELU as the Gelu op (opset 20), the mask by Where"),
    "mlp_mask_dynamo21": ("masked", None, "opset 21: Gelu, LayerNormalization, NonZero + ScatterND"),
    "lstm_dynamo": ("plain", None, "an LSTM, h and c inferred as state; weights in .onnx.data"),
    "gru_ts17": ("per_player", "none", "a GRU whose encoder keeps one state per controlled player"),
    "attention_dynamo": ("tokens", None, "int64 ids into an embedding (Gather), BatchNorm, MatMul, Softmax"),
    "bigru_ts17": ("window", None, "a bidirectional GRU over a fixed window of 8 frames"),
    "conv_smm_dynamo": ("smm:stack=4", None, "Conv2d on stacked SMM moved to NCHW, AdaptiveAvgPool2d"),
    "mlp_decide_dynamo": ("decided", None, "decide(): a mask and a rule around the net"),
}
STEPS = 200  # observations of each side checked here


def build_family(name: str, folder, **options):
    variant, state, _ = FAMILIES[name]
    pipeline = {"observation": variant} if ":" in variant else {"encoder": write_encoder(folder, variant)}
    return build(FILES / f"{name}.onnx", folder / f"{name}.py", state=options.pop("state", state), verify_steps=60,
                 targets="kaggle-2020,kaggle-2026", **pipeline, **options)


def onnxruntime_play(name: str, folder, observations: list, pairs: list) -> tuple:
    """(values (N, 19), actions) of the ONNX file run by onnxruntime behind the encoder, state carried here."""
    session = ort.InferenceSession(str(FILES / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    inputs = {item.name: item for item in session.get_inputs()}
    outputs = [item.name for item in session.get_outputs()]
    namespace: dict = {}
    variant = FAMILIES[name][0]
    if ":" not in variant:
        exec(write_encoder(folder, variant).read_text(), namespace)
    if "reset" in namespace:
        namespace["reset"]()
    state = {name: np.zeros(inputs[name].shape, dtype=np.float32) for name, _ in pairs}
    fed = [item for item in inputs if item not in state]
    frames, values, actions = [], [], []
    for raw in observations:
        if ":" in variant:  # stacked SMM: the 4 latest frames, the first repeated at the start
            from gfootball.env import observation_preprocessing

            frame = observation_preprocessing.generate_smm([raw])[0].astype(np.float32)
            frames = (frames or [frame] * 3)[-3:] + [frame]
            encoded = [np.concatenate(frames, axis=-1)]
        else:
            encoded = namespace["encode"](raw)
        if isinstance(encoded, dict):
            encoded = [encoded[item] for item in fed]
        elif not isinstance(encoded, list):
            encoded = [encoded]
        feed = {item: np.asarray(x)[None].astype(np.int64 if "int64" in inputs[item].type else np.float32)
                for item, x in zip(fed, encoded, strict=True)}
        result = dict(zip(outputs, session.run(None, {**feed, **state}), strict=True))
        state = {name: result[output] for name, output in pairs}
        values.append(result["logits"].reshape(-1)[:19])
        actions.append(namespace["decide"](result, raw) if "decide" in namespace else int(np.argmax(values[-1])))
    return np.asarray(values, dtype=np.float64), actions


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Every family built once: name -> (its BuildResult, its folder)."""
    folder = tmp_path_factory.mktemp("torch-families")
    return {name: (build_family(name, folder), folder) for name in FAMILIES}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_torch_family_builds_and_plays_like_onnxruntime_on_both_sides(built, name, both_sides_observations):
    result, folder = built[name]
    assert result.parity.passed, result.parity.summary()
    assert [row.runtime for row in result.parity.runtimes] == ["kaggle-2020", "kaggle-2026"]
    assert all(row.agreement == 1.0 and row.max_abs_dq <= 1e-4 for row in result.parity.runtimes)
    assert "onnxruntime" in result.parity.reference
    pairs = [(name_in, output) for name_in, output in result.shell.state]
    seen = set()
    for side in (both_sides_observations[0::2][:STEPS], both_sides_observations[1::2][:STEPS]):
        want, actions = onnxruntime_play(name, folder, side, pairs)
        got = main_py_q_values(result.output, side)
        assert np.all(np.abs(got - want) <= 1e-4 * np.maximum(1.0, np.abs(want)))
        seen.update(actions)
        if FAMILIES[name][0] == "decided":  # main.py plays decide()'s action, not the argmax
            agent = load_agent(result.output)
            assert [agent(obs)[0] for obs in as_kaggle(side)] == actions
    assert len(seen) > 1, "trained: the action depends on the observation"


def load_agent(main_py):
    from common.kaggle import load_like_kaggle

    return load_like_kaggle(main_py)


def test_the_lstm_state_is_inferred_by_name_and_shape_or_given(built, tmp_path):
    inferred = built["lstm_dynamo"][0].shell
    assert inferred.state == [("h0", "hn"), ("c0", "cn")] and inferred.state_origin == "inferred by shape"
    given = build_family("lstm_dynamo", tmp_path, state="c0=cn,h0=hn")
    assert given.parity.passed and given.shell.state_origin == "given (--state)"
    assert "--state c0=cn,h0=hn" in given.output.read_text().splitlines()[1]


def test_the_files_were_written_by_torch_exporters():
    made = json.loads((FILES / "made.json").read_text())
    for name in FAMILIES:
        proto = onnx.load(str(FILES / f"{name}.onnx"))
        assert proto.producer_name == "pytorch" and made[name]["torch"].startswith("2.")
        assert sorted({node.op_type for node in proto.graph.node}) == made[name]["ops"]
    assert {made[name]["exporter"] for name in FAMILIES} == {"torchscript", "dynamo"}
    assert {made[name]["opset"] for name in FAMILIES} == {13, 17, 18, 20, 21}


REFUSED = {
    "refused_sampling": "(op Multinomial): a random op",
    "refused_cumsum": "(op CumSum): an op gfsub does not reproduce",
    "refused_cond": "(op If): control flow",
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_sampling_op_control_flow_or_an_unknown_op_is_refused_by_name(name, tmp_path):
    out = CliRunner().invoke(app, ["build", str(FILES / f"{name}.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(write_encoder(tmp_path, "plain"))])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert REFUSED[name] in out.output and "node '" in out.output
    assert not (tmp_path / "main.py").exists()


BAD_SHELL = {
    "state the encoder returns": ("gru_ts17", "per_player", None, "which gfsub carries as state"),
    "a state pair of two shapes": ("lstm_dynamo", "plain", "h0=logits", "the input has shape (1, 1, 32)"),
    "no such state input": ("lstm_dynamo", "plain", "h=hn", "'h' is no input of the model"),
}


@pytest.mark.parametrize("case", list(BAD_SHELL))
def test_a_shell_that_cannot_work_is_one_line_and_nothing_written(case, tmp_path):
    name, variant, state, message = BAD_SHELL[case]
    args = ["build", str(FILES / f"{name}.onnx"), "-o", str(tmp_path / "main.py"), "--encoder",
            str(write_encoder(tmp_path, variant)), "--verify-steps", "10", "--target", "kaggle-2026"]
    out = CliRunner().invoke(app, args + (["--state", state] if state else []))
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert message in out.output and any(f"{file}: " in out.output for file in (f"{name}.onnx", f"{variant}.py")), \
        out.output  # the line names the file to fix: the model, or the encoder
    assert not (tmp_path / "main.py").exists()


def test_a_decide_that_returns_no_action_is_the_encoders_to_fix(tmp_path):
    encoder = write_encoder(tmp_path, "decided")
    encoder.write_text(encoder.read_text().replace("    return action\n", "    return float(action) + 0.5\n"))
    out = CliRunner().invoke(app, ["build", str(FILES / "mlp_decide_dynamo.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(encoder), "--verify-steps", "10", "--target", "kaggle-2026"])
    assert out.exit_code == 2 and "decide(outputs, obs) returned" in out.output, out.output
    assert not (tmp_path / "main.py").exists()


def test_weights_kept_beside_the_file_must_be_there(tmp_path):
    shutil.copy(FILES / "lstm_dynamo.onnx", tmp_path)
    out = CliRunner().invoke(app, ["build", str(tmp_path / "lstm_dynamo.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(write_encoder(tmp_path, "plain"))])
    assert out.exit_code == 2 and "lstm_dynamo.onnx.data" in out.output and "copy" in out.output, out.output
    assert not (tmp_path / "main.py").exists()


def test_where_numpy_and_onnxruntime_part_is_named_by_step_output_and_node(tmp_path, monkeypatch):
    """A numpy op that drifts (a fault put into the builder's own Erf) is refused at the first step, output and ONNX
    node where the two part, and nothing is written."""
    from agent_runtime.layers import OPS
    from common.errors import UnsupportedArchitectureError

    exact = OPS["error_function"]
    monkeypatch.setitem(OPS, "error_function", lambda node, inputs, weights: exact(node, inputs, weights) * 1.001)
    with pytest.raises(UnsupportedArchitectureError) as error:
        build_family("mlp_mask_ts13", tmp_path)
    assert "step 1, output 'logits'" in str(error.value) and "first at node '/Erf' (op Erf)" in str(error.value)
    assert not (tmp_path / "mlp_mask_ts13.py").exists()


def test_an_encoder_that_computes_otherwise_in_a_runtime_is_named_with_the_input(tmp_path):
    """An argsort of tied distances (kick-off's symmetric opponents) orders them by the runtime's numpy: main.py then
    plays otherwise in kaggle-2020 (numpy 1.18), and the build says it is the encoder's doing, and where."""
    encoder = write_encoder(tmp_path, "masked")
    encoder.write_text(encoder.read_text().replace('np.argsort(distance, kind="stable")', "np.argsort(distance)"))
    out = CliRunner().invoke(app, ["build", str(FILES / "mlp_mask_ts13.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(encoder), "--verify-steps", "30", "--target", "kaggle-2020"])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "masked.py: computes other inputs in runtime kaggle-2020" in out.output
    assert "(step 1, input features, value 11: " in out.output and 'kind="stable"' in out.output
    assert not (tmp_path / "main.py").exists()


def test_a_recurrent_main_py_is_checked_and_what_it_wanted_recorded(built, tmp_path):
    """gfsub check plays the LSTM's main.py in kaggle-2020's sandbox; each step records the 19 values behind its
    action (the shell's recorded output), as for a Keras main.py."""
    result, _ = built["lstm_dynamo"]
    run_dir = tmp_path / "run"
    out = CliRunner().invoke(app, ["check", str(result.output), "--matches", "1", "--steps", "40", "--runtime",
                                   "kaggle-2020", "--run-dir", str(run_dir)])
    assert out.exit_code == 0, out.output
    wanted = json.loads((run_dir / "results.jsonl").read_text().splitlines()[0])["wanted"]
    assert len(wanted["top"]) >= 39 and all(len(top) == 3 for top in wanted["top"] if top)
