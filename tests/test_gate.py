"""The package gate cannot be fooled, forfeits are losses, every numeric option is range-checked, and Ctrl-C or
SIGTERM stops a real run, leaving a resumable run directory and no process behind."""

import json
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest
from typer.testing import CliRunner

from builder import build
from gfsub.cli import app
from harness.check import build_report, make_config, run_check
from harness.package import package
from tests.helpers import still_running
from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine


@pytest.fixture(scope="module")
def main_py(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    notebook_model(seed=8).save(folder / "model.keras")
    return build(folder / "model.keras", folder / "main.py", verify_steps=20, targets="current").output


def _write(tmp_path, name: str, source: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


# ----- every numeric option, both bounds: one line, exit 2, nothing written ---------------------------------------

OPTION_CASES = [
    ("check", "--matches", "0", "use a value >= 1"),
    ("check", "--matches", "-1", "use a value >= 1"),
    ("check", "--steps", "0", "use a value 1..3002"),
    ("check", "--steps", "-5", "use a value 1..3002"),
    ("check", "--steps", "3003", "use a value 1..3002"),
    ("check", "--jobs", "0", "use a value >= 1"),
    ("check", "--seed", "-1", "use a value >= 0"),
    ("check", "--slowdown", "0.5", "use a value >= 1"),
    ("check", "--match-timeout", "0", "use a value > 0"),
    ("check", "--match-timeout", "-3", "use a value > 0"),
    ("build", "--verify-steps", "0", "use a value 1..3001"),
    ("build", "--verify-steps", "3002", "use a value 1..3001"),
    ("build", "--fallback-action", "-1", "use a value 0..18"),
    ("build", "--fallback-action", "19", "use a value 0..18"),
    ("package", "--max-size", "0", "use a value >= 1"),
]


@pytest.mark.parametrize("command, option, value, bound", OPTION_CASES,
                         ids=[f"{c}{o}={v}" for c, o, v, _ in OPTION_CASES])
def test_numeric_options_are_range_checked(tmp_path, main_py, command, option, value, bound):
    target = {"check": [str(main_py), "--run-dir", str(tmp_path / "run")],
              "build": [str(tmp_path / "model.keras"), "-o", str(tmp_path / "out.py")],
              "package": [str(main_py), "-o", str(tmp_path / "s.tar.gz"), "--force"]}[command]
    out = CliRunner().invoke(app, [command, *target, option, value])
    assert out.exit_code == 2, out.output
    assert out.stderr.strip() == f"error: {option} {float(value):g} is out of range — {bound}"
    assert not any(tmp_path.iterdir()), "nothing is written"


# ----- coverage and the package gate ----------------------------------------------------------------------------

def _report(tmp_path, main_py, name: str, **options) -> None:
    """A PASS report.json of a real check with these options (matches=0 only as an older gfsub wrote it)."""
    settings = {"matches": 1, "steps": 30, "opponent": "engine", **options}
    if settings["matches"] == 0:
        config = make_config(main_py, matches=1, steps=settings["steps"], opponent=settings["opponent"], jobs=1)
        config.matches = 0
        report = build_report(config, []).to_dict()
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "report.json").write_text(json.dumps(report))
        assert report["verdict"] == "PASS"
        return
    config = make_config(main_py, matches=settings["matches"], steps=settings["steps"], opponent=settings["opponent"],
                         jobs=2)
    assert run_check(config, tmp_path / "runs" / name).verdict == "PASS"


@pytest.mark.parametrize("options, lacks", [
    ({"matches": 0}, "matches on both sides (played: none)"),
    ({"matches": 1, "steps": 3002}, "matches on both sides (played: left)"),
    ({"matches": 2, "steps": 300}, "full-length matches (3002 steps, these had 300)"),
    ({"matches": 2, "steps": 30, "opponent": "do_nothing"}, "the engine AI as opponent (played do_nothing)"),
], ids=["0-matches", "1-side", "300-steps", "not-the-engine"])
def test_a_pass_that_is_not_release_grade_does_not_unlock_package(tmp_path, main_py, options, lacks):
    _report(tmp_path, main_py, "r", **options)
    out = CliRunner().invoke(app, ["package", str(main_py), "-o", str(tmp_path / "s.tar.gz"), "--runs-dir",
                                   str(tmp_path / "runs")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "is not release grade" in out.stderr and lacks in out.stderr
    assert f"gfsub check {main_py} --matches 2 --steps 3002 --opponent engine" in out.stderr
    assert not (tmp_path / "s.tar.gz").exists()
    forced = CliRunner().invoke(app, ["package", str(main_py), "-o", str(tmp_path / "s.tar.gz"), "--runs-dir",
                                      str(tmp_path / "runs"), "--force"])
    assert forced.exit_code == 0 and "WARNING: --force" in forced.stderr and (tmp_path / "s.tar.gz").exists()


def test_a_release_grade_check_unlocks_package_and_says_so(tmp_path, main_py):
    out = CliRunner().invoke(app, ["check", str(main_py), "--run-dir", str(tmp_path / "runs" / "full"),
                                   "--matches", "2", "--steps", "3002", "--jobs", "2"])
    assert out.exit_code == 0, out.output
    report = json.loads((tmp_path / "runs" / "full" / "report.json").read_text())
    cover = report["coverage"]
    assert cover["release_grade"] and cover["sides"] == ["left", "right"] and cover["steps"] == 3002
    assert "release grade" in " ".join(out.output.split())
    result = package(main_py, tmp_path / "s.tar.gz", runs_dir=tmp_path / "runs")
    assert not result.forced and result.report == tmp_path / "runs" / "full" / "report.json"

    # Builds are reproducible: rebuilding the same model gives the same bytes, so the check still applies.
    again = build(main_py.parent / "model.keras", tmp_path / "again" / "main.py", verify_steps=20, targets="current")
    assert again.output.read_bytes() == main_py.read_bytes()
    assert not package(again.output, tmp_path / "again.tar.gz", runs_dir=tmp_path / "runs").forced


def test_a_report_of_an_older_gfsub_without_coverage_is_refused(tmp_path, main_py):
    _report(tmp_path, main_py, "old", matches=2, steps=30)
    path = tmp_path / "runs" / "old" / "report.json"
    data = json.loads(path.read_text())
    del data["coverage"]
    path.write_text(json.dumps(data))
    out = CliRunner().invoke(app, ["package", str(main_py), "-o", str(tmp_path / "s.tar.gz"), "--runs-dir",
                                   str(tmp_path / "runs")])
    assert out.exit_code == 2 and "made by another gfsub version" in out.stderr


def test_package_load_failure_is_one_line(tmp_path):
    broken = _write(tmp_path, "main.py", "def agent(obs:\n    return [0]\n")
    out = CliRunner().invoke(app, ["package", str(broken), "-o", str(tmp_path / "s.tar.gz"), "--force"])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert f"error: {broken}: does not load with kaggle-environments' loader" in out.stderr
    assert "SyntaxError: " in out.stderr and "rebuild it with `gfsub build`" in out.stderr
    assert not (tmp_path / "s.tar.gz").exists()


# ----- forfeits are losses (the candidate's) or wins (the opponent's) -------------------------------------------

def test_forfeits_count_as_losses_and_opponent_forfeits_as_wins(tmp_path, main_py):
    raises = _write(tmp_path, "raises.py", "def agent(obs):\n    raise ValueError('boom')\n")
    lost = run_check(make_config(raises, matches=1, steps=10, opponent="engine", jobs=1), tmp_path / "a")
    assert (lost.record.wins, lost.record.draws, lost.record.losses) == (0, 0, 1) and lost.record.win_rate == 0.0
    boom = "ERROR (raised ValueError: boom at step 1)"  # its reason, from its sandboxed process
    assert lost.matches[0].outcome == "loss" and lost.forfeits.candidate == [f"match 0: {boom}"]

    won = run_check(make_config(main_py, matches=2, steps=10, opponent=str(raises), jobs=2),
                    tmp_path / "b")
    assert (won.record.wins, won.record.draws, won.record.losses) == (2, 0, 0) and won.verdict == "PASS"
    assert won.forfeits.opponent == [f"match 0: {boom}", f"match 1: {boom}"] and won.forfeits.candidate == []
    assert won.record.win_rate == 1.0


# ----- Ctrl-C and SIGTERM ----------------------------------------------------------------------------------------

@pytest.mark.alone  # a signal, answered within 2 s
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_a_real_run_within_2s_and_it_resumes(tmp_path, main_py, signum):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "gfsub.cli", "check", str(main_py), "--matches", "2", "--steps", "500",
               "--jobs", "1", "--run-dir", str(run_dir)]
    gfsub = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    results = run_dir / "results.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (results.exists() and results.read_text().count("\n") == 1):
        time.sleep(0.2)
    time.sleep(3)  # match 1 is under way now
    children = psutil.Process(gfsub.pid).children(recursive=True)
    assert children, "the second match is running"
    sent = time.monotonic()
    gfsub.send_signal(signum)
    out, err = gfsub.communicate(timeout=30)
    assert time.monotonic() - sent <= 2.0, "stopped within 2 s"
    assert gfsub.returncode == 130, err
    running = still_running(children, timeout=1)
    assert running == [], f"processes left behind: {running}"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["verdict"] == "INTERRUPTED" and [m["index"] for m in report["matches"]] == [0]
    assert "continue with --resume" in report["reasons"][0] and "INTERRUPTED" in out
    assert len(results.read_text().splitlines()) == 1

    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    report = json.loads((run_dir / "report.json").read_text())
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert report["verdict"] == "PASS" and [m["index"] for m in report["matches"]] == [0, 1]
