"""`gfsub replay` on episodes written by real matches (gfsub's own check on the real engine, and kaggle-environments
1.6.0's serializer in the kaggle-2020 runtime), and what a gfsub main.py wanted, recorded in check, league and replay
and drawn in report.html (headless Chromium)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.kaggle import ACTION_NAMES, load_like_kaggle
from tests.pages import Page

pytestmark = pytest.mark.engine  # plays matches on the real engine

RAISER = '''def agent(obs, config=None):
    if obs["step"] >= 25:
        raise KeyError("ball_owned_player")
    return [5]
'''
SLEEPER = '''import time


def agent(obs, config=None):
    if obs["step"] == 4:
        time.sleep(70)  # more than the step limit and the whole overage pool
    return [5]
'''
WRITE_1_6_0 = '''import json, sys
from pathlib import Path
import kaggle_environments
from kaggle_environments.core import Environment
spec = json.loads((Path(kaggle_environments.__file__).parent / "envs/football/football.json").read_text())
episode = json.loads(Path(sys.argv[1]).read_text())
env = Environment(specification=spec, configuration=episode["configuration"], steps=episode["steps"],
                  interpreter=lambda state, env: state, renderer=lambda state, env: "", html_renderer=lambda: "")
Path(sys.argv[2]).write_text(json.dumps(env.toJSON()))
print(kaggle_environments.__version__)
'''


SLOW_REPLAY = []  # the sleeper's replay, started in the background by the fixture


def gfsub(*args, cwd, background: bool = False):
    command = [sys.executable, "-m", "gfsub.cli", *args]
    env = {**os.environ, "COLUMNS": "400"}
    if background:
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def played(tmp_path_factory, gfsub_agents) -> Path:
    """Real matches that wrote episodes: the gfsub main.py (60 steps), an agent that raises at its 26th call, one
    that sleeps through the overage pool at its 5th, and a league of the gfsub main.py and run_right."""
    folder = tmp_path_factory.mktemp("replay")
    shutil.copy(gfsub_agents["main"], folder / "main.py")
    shutil.copy(gfsub_agents["other"], folder / "other.py")
    (folder / "raiser.py").write_text(RAISER)
    (folder / "sleeper.py").write_text(SLEEPER)
    sleeper = gfsub("check", "sleeper.py", "--matches", "1", "--steps", "10", "--run-dir", "sleeper", cwd=folder,
                    background=True)  # its minute of sleep overlaps the rest
    check = gfsub("check", "main.py", "--matches", "1", "--steps", "60", "--run-dir", "check", cwd=folder)
    assert check.returncode == 0, check.stdout + check.stderr
    raiser = gfsub("check", "raiser.py", "--matches", "1", "--steps", "40", "--run-dir", "raiser", cwd=folder)
    assert raiser.returncode == 1 and "ERROR" in raiser.stdout, raiser.stdout + raiser.stderr
    assert "replay it step by step: gfsub replay raiser/match-000.json " in raiser.stdout, "check says how"
    league = gfsub("league", "main.py", "run_right", "--matches-per-pair", "2", "--steps", "30", "--run-dir",
                   "league", cwd=folder)
    assert league.returncode == 0, league.stdout + league.stderr
    out, err = sleeper.communicate(timeout=300)
    assert sleeper.returncode == 1 and "TIMEOUT" in out, out + err
    # Its replay sleeps through the pool too: it runs while the tests above the last one do.
    SLOW_REPLAY.append(gfsub("replay", "sleeper/match-000.json", "sleeper.py", "--run-dir", "replay-sleeper",
                             cwd=folder, background=True))
    return folder


def replayed(folder: Path, *args) -> tuple:
    """(the completed `gfsub replay`, its report.json, its run directory) for a replay into a new run directory."""
    run_dir = folder / f"replay-{len(list(folder.glob('replay-*')))}"
    done = gfsub("replay", *args, "--run-dir", str(run_dir), cwd=folder)
    report = run_dir / "report.json"
    return done, json.loads(report.read_text()) if report.exists() else None, run_dir


def first_line(done) -> str:
    return next(line for line in done.stdout.splitlines() if line.startswith(("reproduced", "differs", "not rep")))


# ----- replay --------------------------------------------------------------------------------------------------
def test_a_checked_episode_replays_to_every_recorded_action_with_the_same_values(played):
    done, report, run_dir = replayed(played, "check/match-000.json", "main.py", "--side", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert first_line(done).startswith("not reproduced: main.py played all 60 steps, and 60 of 60 recorded actions "
                                       "match. main.py's code path was clean on these observations")
    assert report["verdict"] == "not reproduced" and report["matched"] == report["compared"] == 60
    checked = json.loads((played / "check" / "results.jsonl").read_text().splitlines()[0])["wanted"]
    assert report["wanted"]["top"] == checked["top"], "the same observations: the same choices, in the same order"
    assert report["steps"][0][3] > report["steps"][1][3], "step 1 includes loading main.py"


def test_an_agent_that_raised_at_step_26_is_reproduced_there_with_its_traceback(played):
    done, report, run_dir = replayed(played, "raiser/match-000.json", "raiser.py")  # no --side: the side that forfeited
    assert done.returncode == 0, done.stdout + done.stderr
    assert first_line(done) == "reproduced: step 26 raised KeyError: 'ball_owned_player' (traceback in the report)"
    assert report["failed_step"] == 26 and len(report["steps"]) == 26 and report["side"] == 0
    assert 'raise KeyError("ball_owned_player")' in report["traceback"]
    assert report["matched"] == 25 and report["wanted"] is None, "25 recorded actions before; not a gfsub main.py"
    assert "traceback at step 26" in (run_dir / "report.html").read_text()
    (run_dir / "report.html").unlink()
    rebuilt = gfsub("report", str(run_dir), cwd=played)  # `gfsub report` rewrites a replay's page too
    assert rebuilt.returncode == 0 and "traceback at step 26" in (run_dir / "report.html").read_text()


def test_other_weights_differ_from_the_first_step_where_the_actions_part(played):
    episode = json.loads((played / "check" / "match-000.json").read_text())
    other = load_like_kaggle(played / "other.py")  # the same file, its actions computed here, independently
    calls = zip(episode["steps"], episode["steps"][1:], strict=False)  # (observation, the action answered) pairs
    expected = next(number for number, (before, after) in enumerate(calls, start=1)
                    if other(before[0]["observation"], {}) != after[0]["action"])
    done, report, run_dir = replayed(played, "check/match-000.json", "other.py", "--side", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert first_line(done).startswith(f"differs: main.py now plays different actions from the episode from step "
                                       f"{expected} on")
    assert report["verdict"] == "differs" and report["first_difference"] == expected


def test_what_main_py_wrote_to_stderr_is_named_with_its_step(played):
    (played / "grumbler.py").write_text('import sys\n\n\ndef agent(obs, config=None):\n    if obs["step"] == 10:\n'
                                        '        print("model failed: playing the fallback", file=sys.stderr)\n'
                                        '    return [0]\n')
    done, report, run_dir = replayed(played, "check/match-000.json", "grumbler.py", "--side", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert first_line(done).endswith("; main.py wrote to stderr at step 11: model failed: playing the fallback")
    assert report["stderr_step"] == 11 and "main.py's stderr at step 11" in (run_dir / "report.html").read_text()


def test_an_episode_written_by_kaggle_environments_1_6_0_replays(played):
    from runtimes.registry import get_runtime, get_spec

    runtime = get_runtime(get_spec("kaggle-2020"))
    script = played / "write_1_6_0.py"
    script.write_text(WRITE_1_6_0)
    written = subprocess.run([runtime.python, str(script), "check/match-000.json", "episode-1.6.0.json"],
                             capture_output=True, text=True, cwd=played)
    assert written.returncode == 0 and written.stdout.split()[-1] == "1.6.0", written.stderr
    done, report, run_dir = replayed(played, "episode-1.6.0.json", "main.py", "--side", "0", "--runtime", "kaggle-2020")
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["matched"] == 60 and "kaggle-2020 (Python 3.7" in report["runtime"]
    checked = json.loads((played / "check" / "results.jsonl").read_text().splitlines()[0])["wanted"]
    assert report["wanted"]["top"] == checked["top"], "Python 3.7 and numpy 1.18 want what current wanted"


@pytest.mark.parametrize("case", ["not json", "truncated", "not football", "other scenario", "side 2",
                                  "no forfeit, no side", "no main.py"])
def test_bad_input_is_one_line_exit_2_and_nothing_written(played, tmp_path, case):
    good = (played / "check" / "match-000.json").read_text()
    episode = json.loads(good)
    path, args = tmp_path / "episode.json", []
    if case == "not json":
        path.write_text("<html>replay</html>")
    elif case == "truncated":
        path.write_text(good[: len(good) // 2])
    elif case == "not football":
        path.write_text(json.dumps({"name": "tictactoe", "steps": [[{"observation": {"board": [0] * 9}}] * 2]}))
    elif case == "other scenario":
        episode["configuration"]["scenario_name"] = "academy_empty_goal"
        path.write_text(json.dumps(episode))
    else:
        path.write_text(good)
        args = {"side 2": ["--side", "2"], "no forfeit, no side": [], "no main.py": ["--side", "0"]}[case]
    main_py = "missing.py" if case == "no main.py" else str(played / "main.py")
    done = gfsub("replay", str(path), main_py, *args, "--run-dir", str(tmp_path / "out"), cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and done.stdout == "", done.stdout + done.stderr
    expected = {"not json": "is not JSON", "truncated": "is cut short", "not football": "not of football",
                "other scenario": "scenario 'academy_empty_goal'", "side 2": "--side 2",
                "no forfeit, no side": "neither side forfeited", "no main.py": "no such main.py"}[case]
    assert expected in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_an_episode_cut_anywhere_is_called_cut_short(played, tmp_path):
    """Wherever a download stops (in a string, a number, a `true`), the line says the file is cut short."""
    from common.errors import EpisodeFileError
    from harness.episode import read_episode

    text = (played / "check" / "match-000.json").read_text()
    path = tmp_path / "cut.json"
    for cut in range(1, len(text), len(text) // 400):
        path.write_text(text[:cut])
        with pytest.raises(EpisodeFileError, match="is cut short"):
            read_episode(path)


# ----- what the model wanted ---------------------------------------------------------------------------------
def test_the_check_records_the_top_3_choices_compactly(played):
    result = json.loads((played / "check" / "results.jsonl").read_text().splitlines()[0])
    wanted = result["wanted"]
    assert len(wanted["top"]) == 60 and all(len(top) == 3 and len(set(top)) == 3 for top in wanted["top"])
    episode = json.loads((played / "check" / "match-000.json").read_text())
    played_actions = [step[0]["action"][0] for step in episode["steps"][1:]]
    assert [top[0] for top in wanted["top"]] == played_actions, "the top choice is the action played"
    assert all(v[0] >= v[1] >= v[2] and m == pytest.approx(v[0] - v[1], rel=1e-3, abs=1e-5)
               for v, m in zip(wanted["values"], wanted["margin"], strict=True))
    per_step = len(json.dumps(wanted)) / 60
    assert per_step * 3002 < 300_000, f"{per_step:.0f} bytes per step: too much for a whole match"
    assert result["opponent_wanted"] is None, "the engine side has none"


def test_a_main_py_loaded_in_the_match_process_records_the_same_choices(played):
    done = gfsub("check", "main.py", "--matches", "1", "--steps", "60", "--run-dir", "in-process", "--no-sandbox",
                 cwd=played)
    assert done.returncode == 0, done.stdout + done.stderr
    read = [json.loads((played / run / "results.jsonl").read_text().splitlines()[0]) for run in ("check", "in-process")]
    assert read[1]["sandbox"] is None and read[0]["sandbox"] is not None
    assert read[1]["wanted"] == read[0]["wanted"], "kaggle-environments' loader in the match process, or hosted"


def test_the_league_records_what_each_gfsub_participant_wanted(played, browser):
    report = json.loads((played / "league" / "report.json").read_text())
    choices = {s["name"]: s["choices"] for s in report["standings"]}
    assert choices.pop("run_right") is None
    [(name, main)] = choices.items()  # the gfsub main.py
    assert main["steps"] == 2 * 30 and sum(main["actions"]) == 60, name
    page = Page(browser, played / "league" / "report.html")
    assert "actions" in page.plot_ids() and page.colours_in("#actions") > 20
    assert "no Q-values: not a gfsub main.py" in page.page.inner_text("body")
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)


def test_the_check_page_shows_the_choice_and_a_click_on_the_margin_plot_seeks_the_replay(played, browser):
    page = Page(browser, played / "check" / "report.html")
    assert {"m0-margin", "m0-actions"} <= set(page.plot_ids())
    for plot in ("m0-margin", "m0-actions"):
        assert page.colours_in(f"#{plot}") > 20, f"plot {plot} is blank"
    wanted = json.loads((played / "check" / "results.jsonl").read_text().splitlines()[0])["wanted"]
    choice = page.page.locator("#m0-replay .choice")
    first = wanted["top"][0]
    assert choice.inner_text().startswith(f"model chose {ACTION_NAMES[first[0]]} (")
    assert f"runner-up {ACTION_NAMES[first[1]]} (" in choice.inner_text()
    page.click_point("m0-margin", "m0-replay", 40)
    assert choice.inner_text().startswith(f"model chose {ACTION_NAMES[wanted['top'][39][0]]} (")
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)


def test_the_replay_page_marks_the_first_difference_and_seeks_it(played, browser):
    done, report, run_dir = replayed(played, "check/match-000.json", "other.py", "--side", "0")
    assert done.stdout.strip().splitlines()[-1] == f"html report: {run_dir / 'report.html'}"
    page = Page(browser, run_dir / "report.html")
    assert {"r-steps", "r-margin", "r-actions"} <= set(page.plot_ids())
    assert "differs" in page.page.inner_text("h1")
    rows = page.page.locator("#steps tr.differs").count()
    assert rows == report["compared"] - report["matched"] > 0
    step = report["first_difference"]
    page.page.evaluate(f"document.querySelector('#r-replay input').value = {step - 1}")
    page.page.dispatch_event("#r-replay input", "input")
    assert page.page.locator("#r-replay .info").inner_text().endswith("the first step played differently")
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)


def test_a_slow_agents_episode_reproduces_its_overage_exhaustion(played):
    """Last in this file: its replay (a minute of sleep) was started by the fixture."""
    statuses = json.loads((played / "sleeper" / "match-000.json").read_text())["steps"][-1]
    assert statuses[0]["status"] == "TIMEOUT"
    out, err = SLOW_REPLAY[0].communicate(timeout=300)
    assert SLOW_REPLAY[0].returncode == 0, out + err
    report = json.loads((played / "replay-sleeper" / "report.json").read_text())
    verdict = next(line for line in out.splitlines() if line.startswith("reproduced"))
    assert verdict.startswith("reproduced: overage pool empty at step 5 (it took 6")
    assert report["failed_step"] == 5 and report["steps"][-1][3] > 60.5
