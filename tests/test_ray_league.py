"""gfsub league --ray on a real two-node Ray cluster on this machine (tests/ray_cluster.py): the worker node is
killed mid-match, and the league still completes with every match recorded exactly once."""

import json
import os
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from builder import build
from tests.ray_cluster import RAY, ray_cluster
from tests.user_model import notebook_model

pytestmark = [pytest.mark.engine, pytest.mark.alone]  # the real engine, on a Ray cluster of its own

GFSUB = str(Path(RAY).with_name("gfsub"))


@pytest.fixture(scope="module")
def candidates(tmp_path_factory) -> list:
    """A gfsub main.py and its float16 build, each in its own folder."""
    folder = tmp_path_factory.mktemp("candidates")
    notebook_model(seed=11).save(folder / "model.keras")
    built = []
    for dtype in ("float32", "float16"):
        output = folder / dtype / "main.py"
        built.append(str(build(folder / "model.keras", output, verify_steps=20, weights_dtype=dtype,
                               targets="current").output))
    return built


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def test_a_league_survives_losing_a_worker_node_mid_match(tmp_path, candidates):
    run_dir = tmp_path / "league"
    with ray_cluster(tmp_path) as cluster:
        league = cluster.popen([GFSUB, "league", *candidates, "run_right", "--engine", "--matches-per-pair", "2",
                                "--steps", "150", "--ray", cluster.address, "--run-dir", str(run_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"})
        killed_match, deadline = None, time.monotonic() + 600
        while league.poll() is None and time.monotonic() < deadline:
            if killed_match is None:
                playing = [p for p in cluster.worker_tree() if "harness.match" in _command_line(p)]
                if playing and time.time() - playing[0].create_time() > 3:  # a match well under way there
                    killed_match = json.loads(_command_line(playing[0]).split("harness.match ", 1)[1]
                                              .rsplit(" ", 1)[0])["index"]
                    assert cluster.kill_worker_node() >= 3
            time.sleep(0.3)
        out, err = league.communicate(timeout=60)
        status = cluster.run([RAY, "status", "--address", cluster.address], capture_output=True, text=True)
    assert killed_match is not None, "no match ran on the worker node: " + out[-2000:] + err[-2000:]
    assert league.returncode == 0, out + err
    lines = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert sorted(line["index"] for line in lines) == list(range(12)), "every match exactly once"
    not_done = [(line["index"], line["status"], line["stderr"][-300:]) for line in lines if line["status"] != "DONE"]
    assert not_done == [], "the killed match was played again, not lost"
    report = json.loads((run_dir / "report.json").read_text())
    assert report["complete"] and not report["void"]
    assert {s["name"] for s in report["standings"]} == {"float32/main.py", "float16/main.py", "run_right", "engine"}
    assert "standings" in out and "league complete" in out
    assert "Ray cluster 127.0.0.1" in out and "2 node(s)" in out
    active = status.stdout.split("Active:", 1)[1].split("Pending:", 1)[0]
    assert active.count("node_") == 1, "the worker node is gone: the matches after the kill ran on the head"
