"""A quiet terminal: gfsub's commands print gfsub's own lines only; --verbose shows the third-party ones too."""

import os
import re
import subprocess
import sys

import pytest

from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

# Every line gfsub itself prints for build and check (an allow-list: anything else is someone else's chatter).
OWN_LINE = re.compile(
    r"^(|[┏┃┡│└].*|(source|architecture|parameters|observation|action|backend|weights blob|main\.py|parity"
    r"|reference)\s.*"
    r"|main\.py in each target runtime.*|step 1 = loading.*|wrote .*|matches( ━.*)?|step1, overage.*"
    r"|p50/p99/max of steps.*|runtime: .*|W/D/L .*|coverage: .*|PASS — report: .*"
    r"|league: \d+ participants.*|standings|pairs|rating ± uncertainty.*|from the first participant.*"
    r"|league complete: .*|agents: .*|html report: .*)$")


def _gfsub(args: list, tmp_path, verbose: bool = False) -> list:
    env = {**os.environ, "COLUMNS": "1000"}  # wide enough that rich wraps no line
    command = [sys.executable, "-m", "gfsub.cli", *(["--verbose"] if verbose else []), *args]
    out = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    return [line.strip() for line in (out.stdout + out.stderr).splitlines()]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("quiet") / "model.keras"
    notebook_model(seed=5).save(path)
    return path


def test_build_check_and_league_print_only_gfsub_lines(model, tmp_path):
    lines = _gfsub(["build", str(model), "-o", "main.py", "--verify-steps", "20", "--target", "current"], tmp_path)
    lines += _gfsub(["check", "main.py", "--matches", "2", "--steps", "30", "--run-dir", "run"],
                    tmp_path)
    lines += _gfsub(["league", "main.py", "run_right", "--engine", "--matches-per-pair", "1", "--steps", "20",
                     "--run-dir", "league"], tmp_path)
    foreign = [line for line in lines if not OWN_LINE.match(line)]
    assert foreign == []
    assert any(line.startswith("wrote main.py") for line in lines) and any(line.startswith("PASS") for line in lines)


def test_verbose_shows_the_third_party_lines(model, tmp_path):
    lines = _gfsub(["build", str(model), "-o", "main.py", "--verify-steps", "10", "--target", "current"], tmp_path,
                   verbose=True)
    assert [line for line in lines if not OWN_LINE.match(line)], "TensorFlow, gym or kaggle-environments said nothing?"
