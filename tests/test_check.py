"""gfsub check / package on the real engine with short matches: verdicts, forfeits, timing, resume, archives."""

import hashlib
import json
import tarfile
import textwrap

import pytest
from typer.testing import CliRunner

from builder import build
from common.errors import RunDirectoryError
from gfsub.cli import app
from harness.check import make_config, run_check
from harness.package import package
from harness.rundir import RESULTS
from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

AGENTS = {
    "raises": "def agent(obs):\n    raise ValueError('boom from the agent')\n",
    "returns_19": "def agent(obs):\n    return [19]\n",
    "returns_two": "def agent(obs):\n    return [1, 2]\n",
    "sleeps_61s": "import time\n\ndef agent(obs):\n    time.sleep(61)\n    return [0]\n",
    "hangs": "import time\n\ndef agent(obs):\n    while True:\n        time.sleep(1)\n",
    "slow_0_3s": "import time\n\ndef agent(obs):\n    time.sleep(0.3)\n    return [0]\n",
}


@pytest.fixture(scope="module")
def good_main_py(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    notebook_model(seed=8).save(folder / "model.keras")
    return build(folder / "model.keras", folder / "main.py", verify_steps=20, targets="current").output


def _agent(tmp_path, name):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(AGENTS[name]))
    return path


def _check(tmp_path, main_py, *extra):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["check", str(main_py), "--run-dir", str(run_dir), *extra])
    report = json.loads((run_dir / "report.json").read_text()) if (run_dir / "report.json").exists() else None
    return result, report


def test_good_main_py_passes_on_both_sides(tmp_path, good_main_py):
    result, report = _check(tmp_path, good_main_py, "--matches", "2", "--steps", "40")
    assert result.exit_code == 0, result.output
    assert report["verdict"] == "PASS" and [m["side"] for m in report["matches"]] == ["left", "right"]
    for match in report["matches"]:
        assert match["status"] == "DONE" and match["timing"]["steps"] == 40
        assert 0 < match["timing"]["p50"] < 0.5 and match["timing"]["step1"] > match["timing"]["p50"]
        assert (tmp_path / "run" / f"match-{match['index']:03d}.json").exists()
    assert "PASS" in result.output and "W/D/L" in result.output


def test_video_is_the_engines_own_rendering_and_the_page_links_it(tmp_path, good_main_py):
    config = make_config(good_main_py, matches=1, steps=20, opponent="do_nothing", jobs=1, video=True)
    report = run_check(config, tmp_path / "run")
    video = report.matches[0].video
    assert video and video.endswith(".webm"), report.matches[0].video_note
    assert open(video, "rb").read(4) == b"\x1aE\xdf\xa3", "a WebM (Matroska/EBML) file"
    from harness.reports import rebuild

    assert "match-000.webm" in rebuild(tmp_path / "run").read_text()


@pytest.mark.parametrize("name, status", [("raises", "ERROR"), ("returns_19", "INVALID"),
                                          ("returns_two", "INVALID")])
def test_forfeits_fail_the_check(tmp_path, name, status):
    result, report = _check(tmp_path, _agent(tmp_path, name), "--matches", "1", "--steps", "10")
    assert result.exit_code == 1
    assert report["verdict"] == "FAIL" and report["matches"][0]["status"] == status
    assert [r for r in report["reasons"] if r.startswith(f"match 0 (left): {status}")], report["reasons"]
    if name == "raises":
        assert report["matches"][0]["reason"] == "raised ValueError: boom from the agent at step 1"
        assert "ValueError: boom from the agent" in report["matches"][0]["stderr"]
        assert "boom from the agent" in result.output, "the traceback excerpt is shown"


def test_agent_past_the_overage_pool_is_timeout(tmp_path):
    result, report = _check(tmp_path, _agent(tmp_path, "sleeps_61s"), "--matches", "1", "--steps", "3")
    assert result.exit_code == 1 and report["matches"][0]["status"] == "TIMEOUT"


def test_hung_agent_is_killed_and_reported(tmp_path):
    result, report = _check(tmp_path, _agent(tmp_path, "hangs"), "--matches", "1", "--steps", "5",
                            "--match-timeout", "15")
    assert result.exit_code == 1 and report["matches"][0]["status"] == "HUNG"
    assert "killed after 15 s" in report["matches"][0]["stderr"]


def test_slow_agent_fails_on_projected_overage(tmp_path):
    result, report = _check(tmp_path, _agent(tmp_path, "slow_0_3s"), "--matches", "1", "--steps", "8",
                            "--opponent", "do_nothing")
    match = report["matches"][0]
    assert match["status"] == "DONE" and match["timing"]["overage_used"] == 0.0
    assert match["timing"]["projected_overage"] > 60 and report["verdict"] == "FAIL" and result.exit_code == 1
    assert "overage pool" in report["reasons"][0]


def test_resume_does_not_replay_finished_matches(tmp_path, good_main_py):
    config = make_config(good_main_py, matches=2, steps=20, opponent="do_nothing", jobs=1)
    run_dir = tmp_path / "run"
    run_check(config, run_dir)
    lines = (run_dir / RESULTS).read_text().splitlines()
    kept = next(line for line in lines if json.loads(line)["index"] == 0)
    (run_dir / RESULTS).write_text(kept + "\n" + '{"index": 1, "status": "DO')  # interrupted mid-write
    first_episode = (run_dir / "match-000.json").stat().st_mtime_ns
    report = run_check(config, run_dir, resume=True).to_dict()
    assert (run_dir / "match-000.json").stat().st_mtime_ns == first_episode
    assert [m["index"] for m in report["matches"]] == [0, 1] and report["verdict"] == "PASS"
    with pytest.raises(RunDirectoryError, match="already holds a check run"):
        run_check(config, run_dir)


def test_a_check_with_other_settings_runs_in_a_folder_of_its_own_and_resume_finds_the_same(tmp_path, good_main_py,
                                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default run directory is under ./runs
    check = ["check", str(good_main_py), "--matches", "1", "--steps", "10", "--opponent", "do_nothing"]
    first = CliRunner().invoke(app, check)
    other = CliRunner().invoke(app, [*check, "--runtime", "kaggle-2020"])
    assert first.exit_code == 0 and other.exit_code == 0, first.output + other.output
    folders = sorted((tmp_path / "runs").iterdir())
    digest = hashlib.sha256(good_main_py.read_bytes()).hexdigest()[:12]
    assert len(folders) == 2 and all(folder.name.startswith(digest + "-") for folder in folders)
    runtimes = {json.loads((folder / "run.json").read_text())["runtime"]: folder for folder in folders}
    assert set(runtimes) == {"current", "kaggle-2020"}
    resumed = CliRunner().invoke(app, [*check, "--resume"])
    assert resumed.exit_code == 0 and len((runtimes["current"] / RESULTS).read_text().splitlines()) == 1
    again = CliRunner().invoke(app, check)
    assert again.exit_code == 2 and "already holds a check run" in again.stderr and "--resume" in again.stderr


def test_package_refuses_unchecked_and_is_reproducible(tmp_path, good_main_py):
    runs = tmp_path / "runs"
    refused = CliRunner().invoke(app, ["package", str(good_main_py), "-o", str(tmp_path / "a.tar.gz"),
                                       "--runs-dir", str(runs)])
    assert refused.exit_code == 2 and "no PASS report" in refused.stderr
    assert not (tmp_path / "a.tar.gz").exists()

    extra = tmp_path / "notes.txt"
    extra.write_text("extra file\n")
    first = package(good_main_py, tmp_path / "a.tar.gz", (extra,), runs, force=True)  # the gate: test_gate.py
    package(good_main_py, tmp_path / "b.tar.gz", (extra,), runs, force=True)
    assert first.forced and first.report is None
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()
    with tarfile.open(tmp_path / "a.tar.gz", "r:gz") as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == ["main.py", "notes.txt"]
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 for m in members)
        assert archive.extractfile("main.py").read() == good_main_py.read_bytes()


def test_package_force_warns_and_size_cap_rejects(tmp_path, good_main_py):
    forced = CliRunner().invoke(app, ["package", str(good_main_py), "-o", str(tmp_path / "f.tar.gz"),
                                      "--runs-dir", str(tmp_path / "none"), "--force"])
    assert forced.exit_code == 0 and "NOT passed" in forced.stderr
    capped = CliRunner().invoke(app, ["package", str(good_main_py), "-o", str(tmp_path / "c.tar.gz"),
                                      "--force", "--max-size", "1000000"])
    assert capped.exit_code == 2 and "over the 1.0 MB limit" in capped.stderr
    assert not (tmp_path / "c.tar.gz").exists()
