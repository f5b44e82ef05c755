"""The error design (no engine): user errors exit 2 with one line, a gfsub bug exits 3 with one line naming the log
that holds its traceback, and odd paths a new user may give are user errors, never tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from builder.pipeline import _parity_error
from builder.verify import ParityReport
from common import errors
from common.errors import InternalError, ParityError, UnsupportedArchitectureError

ROOT = Path(__file__).resolve().parents[1]


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


def test_every_error_has_a_category_and_a_bug_is_not_a_user_error():
    named = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    categories = (errors.InputFileError, errors.ModelRefusedError, errors.UsageError, errors.SetupError)
    leaves = [cls for cls in named if cls not in (errors.GfsubError, errors.UserError, errors.InternalError,
                                                  *categories)]
    assert len(leaves) >= 25
    assert [cls.__name__ for cls in leaves if not issubclass(cls, categories)] == []
    assert not issubclass(errors.InternalError, errors.UserError)
    assert {cls.exit_code for cls in leaves} == {2} and errors.InternalError.exit_code == 3


def _gfsub(args: list, tmp_path: Path, prelude: str = "", **env) -> subprocess.CompletedProcess:
    """The real CLI in a fresh process (`prelude` runs first: a fault injected into gfsub's own code)."""
    code = f"import sys\n{prelude}\nfrom gfsub.cli import main\nmain(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "GFSUB_CACHE": str(tmp_path / "cache"), **env}, timeout=300)


def _one_line(out: subprocess.CompletedProcess) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


FAULT = """
import builder.load
def broken(path):
    return {}["format"]  # a bug deep in the pipeline
builder.load.detect_format = broken
"""


def test_a_bug_is_one_line_exit_3_naming_the_log_that_holds_its_traceback(tmp_path):
    np.savez(tmp_path / "w.npz", np.zeros(3))
    out = _gfsub(["build", "w.npz", "-o", "new/main.py"], tmp_path, prelude=FAULT)
    assert out.returncode == 3
    line = _one_line(out)
    log = tmp_path / "cache" / "logs" / "last-command.log"
    assert line.startswith("internal error: KeyError: 'format'") and "gfsub bug" in line and str(log) in line
    assert "Traceback" in log.read_text() and "in broken" in log.read_text()
    assert not (tmp_path / "new").exists(), "a failed build leaves no folder behind"


def test_a_bug_outside_any_command_module_is_caught_too(tmp_path):
    out = _gfsub(["runtime", "list"], tmp_path,
                 prelude="import runtimes.registry as r\nr.load_specs = lambda: 1 / 0")
    assert out.returncode == 3 and _one_line(out).startswith("internal error: ZeroDivisionError")


@pytest.fixture
def agent_file(tmp_path) -> Path:
    path = tmp_path / "agent.py"
    path.write_text("def agent(obs, config=None):\n    return [0]\n")
    return path


ODD_PATHS = {
    # name: (arguments, environment, what the line says)
    "run dir under /proc": (["check", "agent.py", "--steps", "5", "--matches", "1", "--run-dir", "/proc/gfsub-x"],
                            {}, "/proc/gfsub-x: cannot be created"),
    "run dir is a file": (["check", "agent.py", "--steps", "5", "--matches", "1", "--run-dir", "agent.py"], {},
                          "agent.py: is a file, not a folder"),
    "league run dir under /proc": (["league", "agent.py", "run_right", "--steps", "5", "--matches-per-pair", "1",
                                    "--run-dir", "/proc/gfsub-x"], {}, "/proc/gfsub-x: cannot be created"),
    "-o under /proc": (["build", "w.npz", "-o", "/proc/gfsub-x/main.py"], {}, "its folder cannot be created"),
    "-o is a folder": (["build", "w.npz", "-o", "."], {}, "is a directory"),
    "cache is a file": (["runtime", "list"], {"GFSUB_CACHE": "agent.py"}, "agent.py: is not a folder"),
    "cache is a file, build": (["build", "w.npz", "-o", "main.py"], {"GFSUB_CACHE": "agent.py"},
                               "agent.py: is not a folder"),
    "package -o under /proc": (["package", "agent.py", "-o", "/proc/gfsub-x/s.tar.gz", "--force"], {},
                               "/proc/gfsub-x/s.tar.gz"),
}


@pytest.mark.parametrize("case", list(ODD_PATHS))
def test_odd_paths_are_one_line_exit_2_never_a_traceback(case, tmp_path, agent_file):
    args, env, expected = ODD_PATHS[case]
    np.savez(tmp_path / "w.npz", np.zeros(3))
    out = _gfsub(args, tmp_path, **env)
    line = _one_line(out)
    assert out.returncode == 2 and line.startswith("error: ") and expected in line, out.stderr
    assert " — " in line, "the line says what to do"
    assert not (tmp_path / "main.py").exists()


@pytest.mark.parametrize("command", ["build", "check", "league", "replay", "report", "package", "runtime list"])
def test_help_and_bad_options_end_as_click_means_them_never_as_a_bug(command, tmp_path):
    """--help exits 0 and a bad option value is a usage error (exit 2), whichever click typer carries (typer 0.2x
    brings its own, whose exceptions are not click's)."""
    shown = _gfsub([*command.split(), "--help"], tmp_path)
    assert shown.returncode == 0 and "Usage: gfsub" in shown.stdout and "internal error" not in shown.stderr
    bad = _gfsub([*command.split(), "--no-such-option"], tmp_path)
    assert bad.returncode == 2 and "No such option" in bad.stderr and "internal error" not in bad.stderr
