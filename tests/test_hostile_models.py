"""A model file from a stranger: the code it carries (a Keras 3 Lambda, read by gfsub as a dueling merge) runs only
in the sandbox during `gfsub build`. Each file's Lambda computes the merge and also tries one thing; the build
either succeeds (the code ran sandboxed, what it computed is verified as usual) or ends in one line and exit 2, and
nothing outside the sandbox changed: no file written, no secret read out, no connection, no process left."""

import io
import os
import pickle
import socket
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

import builder.source_model
from common.cache import log_path
from gfsub.cli import app

pytestmark = pytest.mark.engine

TOKEN = f"{os.getpid()}{int(time.time())}"  # marks this run's hostile child processes, to find them in /proc


def hostile_model(path, payload: str) -> None:
    """Dense -> value and advantages -> a Lambda that runs `payload` (in a try) and merges them."""
    merge = eval("lambda t: [exec(" + repr(payload) + "), t[0] + t[1] - keras.ops.mean(t[1], axis=1, "  # noqa: S307
                 "keepdims=True)][1]", {"keras": keras})
    keras.utils.set_random_seed(0)
    x = keras.Input((115,), name="simple115")
    h = keras.layers.Dense(32, activation="relu")(x)
    q = keras.layers.Lambda(merge, output_shape=(19,), name="dueling")([keras.layers.Dense(1)(h),
                                                                        keras.layers.Dense(19)(h)])
    keras.Model(x, q).save(path)


def guarded(code: str) -> str:
    return "try:\n" + "".join(f"    {line}\n" for line in code.splitlines()) + "except Exception:\n    pass\n"


def build(path, tmp_path) -> tuple:
    out = CliRunner().invoke(app, ["build", str(path), "-o", str(tmp_path / "main.py"), "--verify-steps", "20",
                                   "--target", "kaggle-2026"])
    return out.exit_code, out.output


def assert_built_or_refused(code: int, output: str, tmp_path) -> None:
    if code == 0:
        assert "ran the model's own Lambda code (dueling) in the sandbox" in output
        assert (tmp_path / "main.py").exists() and "exec(" not in (tmp_path / "main.py").read_text()
    else:
        assert code == 2 and len(output.strip().splitlines()) == 1, output
        assert not (tmp_path / "main.py").exists()


def test_a_lambda_that_writes_to_home_writes_nothing(tmp_path):
    target = tmp_path / "home" / "gfsub-pwned.txt"
    target.parent.mkdir()
    hostile_model(tmp_path / "evil.keras", guarded(f"open({str(target)!r}, 'a').write('pwned')\n"
                                                   "open(__import__('os').path.expanduser('~/pwned'), 'a')"))
    code, output = build(tmp_path / "evil.keras", tmp_path)
    assert code == 0, output  # its computation is a plain dueling merge: built, verified
    assert_built_or_refused(code, output, tmp_path)
    assert not target.exists() and not (tmp_path / "home" / "pwned").exists()


def test_a_lambda_that_reads_a_secret_cannot_see_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the-secret-" + TOKEN)
    hostile_model(tmp_path / "evil.keras", guarded(f"print(open({str(secret)!r}).read())\n"
                                                   f"raise RuntimeError(open({str(secret)!r}).read())"))
    code, output = build(tmp_path / "evil.keras", tmp_path)
    assert_built_or_refused(code, output, tmp_path)
    assert "the-secret-" not in output
    log = log_path()
    assert not log.exists() or "the-secret-" not in log.read_text(errors="replace")


def test_a_lambda_that_connects_to_loopback_reaches_nobody(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    hostile_model(tmp_path / "evil.keras", guarded(
        f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hello')"))
    try:
        code, output = build(tmp_path / "evil.keras", tmp_path)
        assert_built_or_refused(code, output, tmp_path)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def hostile_processes() -> list:
    """Pids of processes whose command line holds this run's token (the hostile child's sleep)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if TOKEN.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_a_lambda_that_forks_a_child_leaves_no_process(tmp_path):
    hostile_model(tmp_path / "evil.keras", guarded(
        "import os\nif os.fork() == 0:\n    os.setsid()\n"
        f"    os.execv('/bin/sleep', ['sleep', '1000.{TOKEN}'])"))
    code, output = build(tmp_path / "evil.keras", tmp_path)
    left = hostile_processes()
    for pid in left:  # stop what this test started, by its own ids
        os.kill(pid, 9)
    assert left == []
    assert_built_or_refused(code, output, tmp_path)


def test_a_lambda_that_allocates_8_gb_is_one_line(tmp_path):
    hostile_model(tmp_path / "evil.keras", "hog = b'x' * (8 << 30)")
    code, output = build(tmp_path / "evil.keras", tmp_path)
    assert code == 2 and len(output.strip().splitlines()) == 1, output
    assert "evil.keras" in output and ("memory" in output.lower()), output
    assert not (tmp_path / "main.py").exists()


def test_a_lambda_that_sleeps_forever_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(builder.source_model, "RUN_SECONDS", 20)
    hostile_model(tmp_path / "evil.keras", "__import__('time').sleep(10 ** 6)")
    started = time.monotonic()
    code, output = build(tmp_path / "evil.keras", tmp_path)
    assert code == 2 and "did not finish within 20 s" in output, output
    assert time.monotonic() - started < 120
    assert not (tmp_path / "main.py").exists()


# ----- an encoder from someone else: main.py embeds it, and the verification runs it ------------------------------
HOSTILE_ENCODER = '''import numpy as np

{payload}

def encode(obs):
{payload_in_encode}    me = obs["left_team"][obs["active"]]
    return np.asarray(obs["ball"][:2] + me + [obs["ball_owned_team"]] * 32, dtype=np.float32)
'''


def encoder_build(tmp_path, payload: str) -> tuple:
    """The MLP of tests/torch_families (36 features) behind an encoder that runs `payload` at import and in encode."""
    from tests.torch_families import FILES

    body = "".join(f"    {line}\n" for line in payload.splitlines())
    (tmp_path / "features.py").write_text(HOSTILE_ENCODER.format(payload=payload, payload_in_encode=body))
    out = CliRunner().invoke(app, ["build", str(FILES / "mlp_decide_dynamo.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(tmp_path / "features.py"), "--verify-steps", "20", "--target",
                                   "kaggle-2026"])
    return out.exit_code, out.output


def test_an_encoder_that_writes_reads_connects_and_forks_changes_nothing_outside(tmp_path):
    target, secret = tmp_path / "home" / "pwned.txt", tmp_path / "secret.txt"
    target.parent.mkdir()
    secret.write_text("the-secret-" + TOKEN)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    payload = guarded(f"open({str(target)!r}, 'a').write('pwned')\n"
                      f"print(open({str(secret)!r}).read())\n") + guarded(
        f"__import__('socket').create_connection(('127.0.0.1', {listener.getsockname()[1]}), timeout=2)\n") + guarded(
        "import os\nif os.fork() == 0:\n    os.setsid()\n"
        f"    os.execv('/bin/sleep', ['sleep', '1001.{TOKEN}'])")
    try:
        code, output = encoder_build(tmp_path, payload)
        left = hostile_processes()
        for pid in left:
            os.kill(pid, 9)
        assert code == 0, output  # what it computes is plain features: built and verified, sandboxed
        assert left == [] and not target.exists() and "the-secret-" not in output
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


@pytest.mark.parametrize("payload, words", [("hog = b'x' * (8 << 30)", "memory"),
                                            ("__import__('time').sleep(10 ** 6)", "stopped")])
def test_an_encoder_that_hogs_memory_or_sleeps_is_one_line(tmp_path, monkeypatch, payload, words):
    import builder.encoder_process

    monkeypatch.setattr(builder.encoder_process, "CALL_SECONDS", 15)
    body = "".join(f"    {line}\n" for line in payload.splitlines())
    (tmp_path / "features.py").write_text(HOSTILE_ENCODER.format(payload="", payload_in_encode=body))
    from tests.torch_families import FILES

    out = CliRunner().invoke(app, ["build", str(FILES / "mlp_decide_dynamo.onnx"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(tmp_path / "features.py"), "--verify-steps", "20", "--target",
                                   "kaggle-2026"])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert words in out.output.lower() and "features.py" in out.output, out.output
    assert not (tmp_path / "main.py").exists()


# ----- pickles inside other files: a .pt2's sample inputs, an old main.py's weights --------------------------------
def with_system(pickled: bytes, command: str) -> bytes:
    """A protocol-2 pickle that first calls os.system(command), then gives back what `pickled` holds."""
    assert pickled[:2] == b"\x80\x02", pickled[:2]
    text = command.encode()
    return pickled[:2] + b"cos\nsystem\nX" + struct.pack("<I", len(text)) + text + b"\x85R0" + pickled[2:]


def hostile_pt2(path, command: str) -> None:
    """tests/torch_families' LSTM .pt2 with its pickled sample inputs (which torch.export.load unpickles with
    weights_only=False, after the safe load fails) running `command` first; the model is unchanged."""
    from tests.torch_families import FILES

    with zipfile.ZipFile(FILES / "lstm_dynamo.pt2") as archive:
        member = next(name for name in archive.namelist() if name.endswith("sample_inputs/model.pt"))
        inner = zipfile.ZipFile(io.BytesIO(archive.read(member)))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as rewritten:
            for info in inner.infolist():
                data = inner.read(info)
                rewritten.writestr(info, with_system(data, command) if info.filename.endswith("/data.pkl") else data)
        with zipfile.ZipFile(path, "w") as out:
            for info in archive.infolist():
                out.writestr(info, buffer.getvalue() if info.filename == member else archive.read(info))


def test_a_pt2_whose_pickle_calls_os_system_runs_it_only_in_the_sandbox(tmp_path):
    pytest.importorskip("torch")
    from tests.torch_families import write_encoder

    target = tmp_path / "home" / "pwned.txt"
    target.parent.mkdir()
    hostile_pt2(tmp_path / "evil.pt2", f"echo pwned >> {target}")
    # the file is hostile: torch alone, outside any sandbox, runs the command while loading it
    subprocess.run([sys.executable, "-c", f"import torch; torch.export.load({str(tmp_path / 'evil.pt2')!r})"],
                   capture_output=True, timeout=300, check=True)
    assert target.read_text() == "pwned\n"
    target.unlink()
    write_encoder(tmp_path, "plain")
    out = CliRunner().invoke(app, ["build", str(tmp_path / "evil.pt2"), "-o", str(tmp_path / "main.py"),
                                   "--encoder", str(tmp_path / "plain.py"), "--verify-steps", "5", "--target",
                                   "kaggle-2026"])
    assert out.exit_code == 0, out.output  # the model is the LSTM's: built and verified, the command ran sandboxed
    assert "loaded the file with torch (torch.export.load) in the sandbox" in out.output
    assert not target.exists()


def test_an_old_main_py_whose_pickle_calls_os_system_is_refused_unrun(tmp_path):
    target = tmp_path / "pwned.txt"
    blob = zlib.compress(with_system(pickle.dumps([np.zeros((3, 2), np.float32)], protocol=2), f"touch {target}"))
    old = tmp_path / "old_main.py"
    old.write_text(f"import pickle\nimport zlib\n\nWEIGHTS = {blob!r}\n\n\ndef agent(obs):\n"
                   "    weights = pickle.loads(zlib.decompress(WEIGHTS))\n    return [0]\n")
    subprocess.run([sys.executable, "-c", f"import pickle, zlib; pickle.loads(zlib.decompress({blob!r}))"],
                   check=True, timeout=60)  # the blob is hostile: pickle itself runs the command
    assert target.exists()
    target.unlink()
    out = CliRunner().invoke(app, ["build", str(old), "-o", str(tmp_path / "out" / "main.py")])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert "old_main.py" in out.output and "os.system" in out.output, out.output
    assert not target.exists() and not (tmp_path / "out").exists()


def test_a_tf23_h5_lambda_that_writes_runs_only_in_the_sandbox(tmp_path):
    """The same trick in a TF 2.3 .h5 (Keras 2.4's marshalled Lambda), written by kaggle-2020's own TensorFlow."""
    from runtimes.registry import ensure_runtime, get_spec

    python = ensure_runtime(get_spec("kaggle-2020")).python
    era = Path(__file__).with_name("era_hostile.py")
    target = tmp_path / "home" / "pwned.txt"
    target.parent.mkdir()
    evil = tmp_path / "evil.h5"
    subprocess.run([python, str(era), str(evil), guarded(f"open({str(target)!r}, 'a').write('pwned')")],
                   capture_output=True, timeout=300, check=True)
    target.unlink(missing_ok=True)  # building the model ran the Lambda too
    subprocess.run([python, str(era), "--load", str(evil)], capture_output=True, timeout=300, check=True)
    assert "pwned" in target.read_text()  # the file is hostile: its own Keras, unsandboxed, runs the payload
    target.unlink()
    code, output = build(evil, tmp_path)
    assert code == 0, output
    assert_built_or_refused(code, output, tmp_path)
    assert "kaggle-2020" in output and not target.exists()
