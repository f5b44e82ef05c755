"""The error design (no engine): user errors exit 2 with one line, a gfsub bug is an InternalError that exits 3
and asks for a report, and a refused build says which of the two it is."""

import pytest

from builder import cli
from builder.errors import InternalError, ParityError, UnsupportedArchitectureError, WeightShapeError
from builder.pipeline import _parity_error
from builder.verify import ParityReport

USES_ENGINE = False  # plain unit tests: `pytest -m "not engine"` runs them


def _parity(agreement: float, dq: float, dtype: str = "float32", rebuild_vs_source: float = 0.0) -> ParityReport:
    return ParityReport(300, agreement, dq, "DONE", 0, False, weights_dtype=dtype,
                        rebuild_vs_source=rebuild_vs_source)


def test_a_refused_build_tells_a_model_gfsub_does_not_model_from_float16_rounding_from_a_gfsub_bug(tmp_path):
    output = tmp_path / "main.py"
    assert isinstance(_parity_error(output, _parity(0.9, 0.3, rebuild_vs_source=0.2), "float32"),
                      UnsupportedArchitectureError)
    rounding = _parity_error(output, _parity(0.97, 3e-3, "float16"), "float16")
    assert isinstance(rounding, ParityError) and "--weights-dtype float32" in rounding.message
    bug = _parity_error(output, _parity(0.9, 0.3), "float32")
    assert isinstance(bug, InternalError) and "gfsub bug" in bug.message


@pytest.mark.parametrize("error,code,label", [
    (WeightShapeError("w.npz", "layer fc1/kernel: expected (1, 2), found (2, 1)", "pass --arch"), 2, "error:"),
    (InternalError("main.py", "main.py does not play like the source model"), 3, "internal error:"),
])
def test_the_one_handler_maps_each_category_to_its_exit_code_and_one_line(error, code, label, capsys):
    with pytest.raises(SystemExit) as stop, cli.handled():
        raise error
    assert stop.value.code == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(label) and str(error.path) in lines[0]


def test_the_handler_lets_anything_else_through():
    with pytest.raises(KeyError), cli.handled():
        raise KeyError("not gfsub's")
