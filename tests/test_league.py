"""gfsub league on the real engine: multi-file agents kept apart, forfeits, ratings, resume, Ctrl-C, bad input."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from harness.processes import run_match
from harness.results import MatchSpec
from tests.helpers import still_running

AGENTS = Path(__file__).with_name("agents")
SPRINTER, IDLER = str(AGENTS / "sprinter" / "main.py"), str(AGENTS / "idler" / "main.py")


def gfsub(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfsub.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, **kwargs)


def results(run_dir: Path) -> list:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


# ----- two agents that both ship utils.py ----------------------------------------------------------------------

@pytest.mark.engine
@pytest.mark.parametrize("isolated", [False, True], ids=["one-interpreter", "isolated"])
def test_helper_modules_of_two_agents_only_stay_apart_when_isolated(tmp_path, isolated):
    """Both test agents import their own utils.py; in one interpreter the second gets the first's (and raises),
    which is why a league hosts every file agent in its own process."""
    spec = MatchSpec(index=0, candidate=SPRINTER, opponent=IDLER, side="left", steps=20, seed=0,
                     run_dir=str(tmp_path), episode=False, isolated=isolated)
    result = run_match(spec, timeout=300, threads=1)
    assert result.status == "DONE"
    if isolated:
        assert result.opponent_status == "DONE"
    else:
        assert result.opponent_status == "ERROR" and "imported sprinter's utils.py" in result.opponent_stderr


# ----- a local league ------------------------------------------------------------------------------------------

@pytest.mark.engine
def test_a_local_league_rates_files_builtins_and_the_engine_and_resumes_only_with_its_settings(tmp_path):
    raises = tmp_path / "raises" / "main.py"
    raises.parent.mkdir()
    raises.write_text("def agent(obs):\n    raise ValueError('boom')\n")
    run_dir = tmp_path / "league"
    args = ["league", SPRINTER, IDLER, str(raises), "run_right", "--engine", "--matches-per-pair", "2",
            "--steps", "30", "--jobs", "2", "--run-dir", str(run_dir)]
    out = gfsub(*args)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((run_dir / "report.json").read_text())
    lines = results(run_dir)
    assert report["complete"] and report["total"] == 5 * 4 // 2 * 2 == len(lines)
    assert sorted(line["index"] for line in lines) == list(range(20))
    standings = {s["name"]: s for s in report["standings"]}
    assert set(standings) == {"sprinter/main.py", "idler/main.py", "raises/main.py", "run_right", "engine"}
    # the agent that raises forfeits every match, loses them all, and is named for it; nobody else forfeits
    assert standings["raises/main.py"]["losses"] == 8 and len(standings["raises/main.py"]["forfeits"]) == 8
    assert all(not s["forfeits"] for name, s in standings.items() if name != "raises/main.py")
    assert report["standings"][-1]["name"] == "raises/main.py"
    for standing in report["standings"]:
        assert standing["played"] == 8 and standing["uncertainty"] > 0
        assert standing["conservative"] == pytest.approx(standing["rating"] - 3 * standing["uncertainty"])
    assert [s["conservative"] for s in report["standings"]] == sorted(
        (s["conservative"] for s in report["standings"]), reverse=True)
    assert len(report["pairs"]) == 10 and all(p["played"] == 2 for p in report["pairs"])
    for pair in report["pairs"]:
        low, high = pair["win_rate_95ci"]
        assert low <= pair["win_rate"] <= high and pair["wins"] + pair["draws"] + pair["losses"] == 2
    # sides alternate within each pair
    assert {line["side"] for line in lines if line["index"] in (0, 1)} == {"left", "right"}
    assert "standings" in out.stdout and "raises/main.py" in out.stdout and "league complete" in out.stdout

    again = gfsub(*args, "--resume")  # nothing is missing: nothing is played again
    assert again.returncode == 0 and len(results(run_dir)) == 20
    changed = gfsub(*[a if a != "30" else "31" for a in args], "--resume")
    assert changed.returncode == 2 and "different settings (" in changed.stderr and "steps" in changed.stderr
    assert len(changed.stderr.strip().splitlines()) == 1


@pytest.mark.alone  # Ctrl-C: timed, and counts processes
@pytest.mark.engine
def test_ctrl_c_keeps_finished_matches_leaves_no_process_and_resume_plays_each_match_once(tmp_path):
    run_dir = tmp_path / "league"
    command = [sys.executable, "-m", "gfsub.cli", "league", SPRINTER, IDLER, "run_right", "--matches-per-pair",
               "1", "--steps", "400", "--jobs", "1", "--run-dir", str(run_dir)]
    league = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not ((run_dir / "results.jsonl").exists()
                                               and (run_dir / "results.jsonl").read_text().count("\n") >= 1):
        time.sleep(0.2)
    time.sleep(3)  # the second match is under way
    children = psutil.Process(league.pid).children(recursive=True)
    assert children, "a match is running"
    league.send_signal(signal.SIGINT)
    out, err = league.communicate(timeout=30)
    assert league.returncode == 130, err
    assert still_running(children, timeout=2) == [], "match and agent processes are gone"
    assert "INTERRUPTED" in out and len(results(run_dir)) == 1
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert sorted(line["index"] for line in results(run_dir)) == [0, 1, 2]


# ----- bad input: one line, exit 2, nothing written ------------------------------------------------------------

def _bad_cases(tmp: Path) -> list:
    (tmp / "empty").mkdir()
    (tmp / "empty" / "main.py").write_text("X = 1\n")
    (tmp / "broken").mkdir()
    (tmp / "broken" / "main.py").write_text("def agent(obs:\n")
    return [
        ([str(tmp / "nope.py"), "run_right"], "no such main.py"),
        ([str(tmp / "empty" / "main.py"), "run_right"], "defines no callable"),
        ([str(tmp / "broken" / "main.py"), "run_right"], "does not load with kaggle-environments' loader"),
        ([SPRINTER, SPRINTER], "is named twice"),
        (["run_right", "run_right"], "is named twice"),
        (["run_right"], "at least 2 participants"),
        (["run_right", "do_nothing", "--matches-per-pair", "0"], "--matches-per-pair"),
        (["run_right", "do_nothing", "--ray", "127.0.0.1:1"], "nothing answers there"),
        # Kaggle's 2020 loader did not put main.py's folder on sys.path: a helper module beside it does not import
        ([SPRINTER, "run_right", "--runtime", "kaggle-2020"], "No module named 'utils'"),
    ]


def test_bad_league_input_is_one_line_exit_2_and_writes_nothing(tmp_path):
    for args, expected in _bad_cases(tmp_path):
        run_dir = tmp_path / "never"
        out = gfsub("league", *args, "--steps", "10", "--run-dir", str(run_dir))
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], (args, out.stderr)
        assert not run_dir.exists(), args


def test_an_agent_file_with_a_syntax_error_is_named(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        def agent(obs):
            return [0
    """))
    out = gfsub("league", str(bad), "run_right", "--run-dir", str(tmp_path / "never"))
    assert out.returncode == 2 and "bad.py" in out.stderr and "does not load" in out.stderr
