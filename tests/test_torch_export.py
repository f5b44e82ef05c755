"""torch.export files: `gfsub build policy.pt2` loads the ExportedProgram with the user's torch (no class code),
exports it to ONNX itself, and verifies main.py against the program run by torch. Without torch: one line naming
the extra. The file is tests/torch_families/files/lstm_dynamo.pt2, written by torch.export.save (make.py)."""

import subprocess
import sys

import numpy as np
import pytest

from tests.torch_families import FILES, write_encoder

PT2 = FILES / "lstm_dynamo.pt2"


@pytest.mark.engine
def test_a_pt2_builds_without_class_code_and_plays_like_torch(tmp_path, both_sides_observations):
    torch = pytest.importorskip("torch")
    from builder import build
    from tests.helpers import main_py_q_values

    encoder = write_encoder(tmp_path, "plain")
    result = build(PT2, tmp_path / "main.py", encoder=encoder, verify_steps=60, targets="kaggle-2020,kaggle-2026")
    assert result.parity.passed and "ExportedProgram run by torch" in result.parity.reference
    assert result.source.format == "pt2" and result.output_name == "linear_1"  # the one output of 19 values
    assert result.shell.state == [("h0", "getitem_1"), ("c0", "getitem_2")]
    assert "in the model's order" in result.shell.state_origin
    module = torch.export.load(str(PT2)).module()
    namespace: dict = {}
    exec(encoder.read_text(), namespace)
    for side in (both_sides_observations[0::2][:150], both_sides_observations[1::2][:150]):
        h, c, want = torch.zeros(1, 1, 32), torch.zeros(1, 1, 32), []
        with torch.inference_mode():
            for raw in side:
                logits, h, c = module(torch.from_numpy(namespace["encode"](raw))[None], h, c)
                want.append(logits.numpy().reshape(-1))
        got = main_py_q_values(result.output, side)
        assert np.all(np.abs(got - np.asarray(want)) <= 1e-4 * np.maximum(1.0, np.abs(want)))
        assert len(set(np.argmax(want, axis=1).tolist())) > 1


def test_without_torch_a_pt2_is_one_line_naming_the_extra(tmp_path):
    """torch made unimportable in a real interpreter (as in a venv without it): exit 2, one line, nothing written."""
    code = ("import sys; sys.modules['torch'] = None; from gfsub.cli import main; "
            f"sys.argv = ['gfsub', 'build', {str(PT2)!r}, '-o', {str(tmp_path / 'main.py')!r}]; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'gfsub[torch]'" in lines[0] and "lstm_dynamo.pt2" in lines[0], lines
    assert not (tmp_path / "main.py").exists()
