"""Hostile agents in their sandboxes, DMOJ-style: each one does its worst at import and mid-match, in a real
bubblewrap sandbox with real cgroups, and the test asserts its verdict and that nothing leaked out."""

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from runtimes.hosted import AgentProcessError, RuntimeAgent
from runtimes.registry import current_runtime
from runtimes.sandbox import Limits, unavailable_reason

pytestmark = pytest.mark.skipif(bool(unavailable_reason()), reason=unavailable_reason() or "")

LIMITS = Limits(memory=1024 ** 3, cpus=1.0, processes=64, scratch=16 * 1024 ** 2)
STEP = 3  # "mid-match": the agent's third call
OBSERVATION, CONFIGURATION = {"remainingOverageTime": 2.0}, {"actTimeout": 1.0}

# The agent file: `hostile()` runs at import (AT = 0) or in call AT; every call returns what it found.
TEMPLATE = '''
import errno, gc, os, signal, socket, subprocess, sys, time
AT = {at}
found = None
calls = 0


def hostile():
{body}


if AT == 0:
    found = hostile()


def agent(obs, config=None):
    global calls, found
    calls += 1
    if calls == AT:
        found = hostile()
    return {{"found": found, "calls": calls}}
'''


def hostile_agent(folder: Path, body: str, at: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "main.py"
    path.write_text(TEMPLATE.format(at=at, body=textwrap.indent(textwrap.dedent(body).strip(), "    ")))
    return path


def play(path: Path, calls: int = 5, limits: Limits = LIMITS) -> tuple:
    """(the last reply, or the AgentProcessError, and the agent's reason) after up to `calls` calls."""
    agent = RuntimeAgent(current_runtime(), path, limits)
    reply = None
    try:
        agent.start()
        for _ in range(calls):
            reply = agent(OBSERVATION, CONFIGURATION)
    except AgentProcessError as error:
        reply = error
    finally:
        agent.close()
    return reply, agent.reason


def with_token(*token: str) -> list:
    """Processes whose command line holds `token`."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if all(part in " ".join(process.info["cmdline"] or []) for part in token):
            found.append(process)
    return found


WHEN = pytest.mark.parametrize("at", [0, STEP], ids=["at-import", "mid-match"])


def when(at: int) -> str:
    return "at import" if at == 0 else f"at step {at}"


# ----- dying ---------------------------------------------------------------------------------------------------
@WHEN
@pytest.mark.parametrize("body, status", [("os._exit(4)", 4), ("sys.exit(3)", 3)], ids=["os._exit", "sys.exit"])
def test_an_agent_that_exits_forfeits_with_its_status(tmp_path, at, body, status):
    reply, reason = play(hostile_agent(tmp_path / "a", body, at))
    assert isinstance(reply, AgentProcessError)
    assert reason == f"exited with status {status} {when(at)}"


@WHEN
def test_an_agent_killed_by_a_signal_is_named_so(tmp_path, at):
    reply, reason = play(hostile_agent(tmp_path / "a", "os.kill(os.getpid(), signal.SIGKILL)", at))
    assert isinstance(reply, AgentProcessError) and reason == f"killed by signal 9 {when(at)}"


@WHEN
def test_killing_its_parent_and_every_process_it_sees_reaches_no_process_outside(tmp_path, at):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        body = f"""
            killed = []
            # Only these, so that a broken sandbox cannot take the machine down with it: a process outside, the
            # test's own, and its parent (what /proc shows inside is the honest agent's test below).
            for pid in [{victim.pid}, {os.getpid()}, os.getppid()]:
                if pid != os.getpid():
                    try:
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                    except OSError:
                        pass
            return killed
        """
        reply, reason = play(hostile_agent(tmp_path / "a", body, at))
        assert victim.poll() is None, "the agent killed a process outside its sandbox"
        assert psutil.Process().is_running()
        assert not isinstance(reply, AgentProcessError) and reply["calls"] == 5, reason
        assert {victim.pid, os.getpid()}.isdisjoint(reply["found"] or [])
    finally:
        victim.kill()
        victim.wait()


# ----- limits --------------------------------------------------------------------------------------------------
@pytest.mark.alone  # a sandbox limit: counts the machine's processes or memory
@WHEN
def test_a_fork_bomb_is_bounded_by_the_process_cap_and_leaves_nothing(tmp_path, at):
    body = """
        while True:
            os.fork()
    """
    before = len(psutil.pids())
    reply, reason = play(hostile_agent(tmp_path / "a", body, at))
    assert isinstance(reply, AgentProcessError)
    assert reason.startswith(f"process limit reached ({LIMITS.processes} processes/threads)"), reason
    assert len(psutil.pids()) < before + 32  # nothing of it is left (other tests' processes come and go)


@pytest.mark.alone  # a sandbox limit: counts the machine's processes or memory
@WHEN
def test_a_memory_hog_forfeits_at_its_limit(tmp_path, at):
    body = """
        held = []
        while True:
            held.append(bytearray(b"x") * (128 * 1024 ** 2))  # touched, so the pages are real
    """
    reply, reason = play(hostile_agent(tmp_path / "a", body, at))
    assert isinstance(reply, AgentProcessError)
    assert reason == f"memory limit 1 GB exceeded {when(at)}"


@pytest.mark.alone  # a sandbox limit: counts the machine's processes or memory
@WHEN
def test_filling_the_scratch_disk_stops_at_its_cap(tmp_path, at):
    body = """
        written = 0
        try:
            with open("/tmp/fill", "wb") as out:
                while True:
                    out.write(b"x" * 1024 ** 2)
                    out.flush()
                    written += 1024 ** 2
        except OSError as error:
            return [error.errno, written, os.getcwd()]
    """
    reply, _ = play(hostile_agent(tmp_path / "a", body, at))
    code, written, cwd = reply["found"]
    assert code == errno.ENOSPC and written <= LIMITS.scratch and cwd == "/tmp"


@WHEN
def test_sleeping_forever_runs_out_of_time_and_leaves_nothing(tmp_path, at):
    token = uuid.uuid4().hex
    path = hostile_agent(tmp_path / token, "time.sleep(10 ** 6)", at)
    start = time.perf_counter()
    reply, reason = play(path, calls=max(at, 1))
    bound = CONFIGURATION["actTimeout"] + OBSERVATION["remainingOverageTime"] + 1
    assert reply == [0] and reason.endswith("out of time")
    assert time.perf_counter() - start < bound + 15
    assert not with_token("agent_worker.py", token)


# ----- files, network, processes --------------------------------------------------------------------------------
@WHEN
def test_writes_outside_the_scratch_folder_reach_nothing_of_the_host(tmp_path, at):
    token = uuid.uuid4().hex
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "results.jsonl").write_text("kept\n")
    targets = [str(run_dir / "results.jsonl"), str(run_dir / "report.json"), str(Path.home() / f"gfsub-{token}"),
               f"/tmp/gfsub-{token}", "/kaggle_simulations/agent/written", str(tmp_path / "a" / "written")]
    body = f"""
        outcome = {{}}
        for target in {targets!r}:
            try:
                with open(target, "a") as out:
                    out.write("hostile")
                outcome[target] = "written"
            except OSError as error:
                outcome[target] = errno.errorcode[error.errno]
        return outcome
    """
    reply, _ = play(hostile_agent(tmp_path / "a", body, at))
    outcome = reply["found"]
    assert outcome[f"/tmp/gfsub-{token}"] == "written"  # its own /tmp, a tmpfs that ends with it
    assert outcome["/kaggle_simulations/agent/written"] == "EROFS"  # its folder, read-only
    assert (run_dir / "results.jsonl").read_text() == "kept\n" and not (run_dir / "report.json").exists()
    assert not (Path.home() / f"gfsub-{token}").exists() and not Path(f"/tmp/gfsub-{token}").exists()
    assert not (tmp_path / "a" / "written").exists()


@WHEN
def test_a_secret_in_home_cannot_be_read(tmp_path, at):
    token = uuid.uuid4().hex
    secret = Path.home() / f".gfsub-secret-{token}"
    secret.write_text(token)
    try:
        body = f"""
            try:
                return open({str(secret)!r}).read()
            except OSError as error:
                return errno.errorcode[error.errno]
        """
        reply, _ = play(hostile_agent(tmp_path / "a", body, at))
    finally:
        secret.unlink()
    assert reply["found"] == "ENOENT" and token not in str(reply)


@WHEN
def test_a_tcp_connection_to_a_listener_on_the_hosts_loopback_never_arrives(tmp_path, at):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(1.0)
        port = listener.getsockname()[1]
        body = f"""
            try:
                with socket.create_connection(("127.0.0.1", {port}), timeout=2) as connection:
                    connection.sendall(b"stolen")
                return "connected"
            except OSError as error:
                return errno.errorcode.get(error.errno, str(error))
        """
        reply, _ = play(hostile_agent(tmp_path / "a", body, at))
        assert reply["found"] == "ECONNREFUSED"  # its own loopback, where nothing listens
        with pytest.raises(TimeoutError):
            listener.accept()


@WHEN
def test_a_child_left_behind_is_gone_when_the_agent_ends(tmp_path, at):
    token = uuid.uuid4().hex
    body = f"""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(777)", "{token}"],
                                 start_new_session=True)
        return child.pid
    """
    agent = RuntimeAgent(current_runtime(), hostile_agent(tmp_path / "a", body, at), LIMITS).start()
    try:
        for _ in range(STEP):
            agent(OBSERVATION, CONFIGURATION)
        assert with_token("time.sleep(777)", token), "the agent's child did not start"
    finally:
        agent.close()
    assert not with_token("time.sleep(777)", token)


@WHEN
def test_kaggle_environments_imported_by_the_agent_is_its_own_not_the_matchs(tmp_path, at):
    body = """
        import kaggle_environments
        live = [o for o in gc.get_objects() if type(o).__name__ == "Environment"]
        return [len(kaggle_environments.environments) > 0, len(live)]
    """
    reply, _ = play(hostile_agent(tmp_path / "a", body, at))
    assert reply["found"] == [True, 0]  # it imports fine, and there is no match in its process to reach


@WHEN
def test_printing_100_mb_costs_the_host_nothing(tmp_path, at):
    body = """
        chunk = "x" * 1024 ** 2
        for _ in range(50):
            print(chunk)
            os.write(1, chunk.encode())
        return "printed"
    """
    before = psutil.Process().memory_info().rss
    agent = RuntimeAgent(current_runtime(), hostile_agent(tmp_path / "a", body, at), LIMITS).start()
    try:
        replies = [agent(OBSERVATION, CONFIGURATION) for _ in range(STEP + 1)]
    finally:
        agent.close()
    assert replies[-1]["found"] == "printed"
    assert psutil.Process().memory_info().rss - before < 40 * 1024 ** 2


def test_an_honest_agent_sees_its_folder_its_interpreter_and_nothing_else_of_the_host(tmp_path):
    body = """
        return [os.getuid(), os.getcwd(), os.environ.get("HOME"), sorted(os.listdir("/")),
                sorted(os.listdir("/kaggle_simulations/agent")), sorted(p for p in os.listdir("/proc") if p.isdigit())]
    """
    path = hostile_agent(tmp_path / "a", body, 0)
    (path.parent / "helper.py").write_text("")
    reply, _ = play(path)
    uid, cwd, home, root, folder, pids = reply["found"]
    assert uid == 65534 and cwd == "/tmp" and home == "/tmp"
    runtime = current_runtime()
    interpreter = {Path(p).parts[1] for p in (runtime.python, os.path.realpath(runtime.python))}
    assert set(root) <= {"usr", "bin", "sbin", "lib", "lib64", "etc", "proc", "dev", "tmp", "gfsub",
                         "kaggle_simulations", *interpreter}, root
    assert folder == ["helper.py", "main.py"]
    assert len(pids) <= 2  # bwrap's init and the worker: no other process of the machine


def test_a_runtime_whose_venv_lies_under_tmp_is_seen_above_the_scratch(tmp_path):
    """A $GFSUB_CACHE under /tmp puts the runtimes' venvs there: the sandbox's scratch /tmp must not hide them."""
    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "cache" / "runtimes" / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    runtime = replace(current_runtime(), python=str(venv / "bin" / "python"))
    path = hostile_agent(tmp_path / "a", "return [sys.prefix, sorted(os.listdir('/tmp'))]", 0)
    agent = RuntimeAgent(runtime, path, LIMITS)
    try:
        prefix, scratch = agent(OBSERVATION, CONFIGURATION)["found"]
    finally:
        agent.close()
    assert prefix == str(venv) and scratch == [str(tmp_path).split("/")[2]], "only the venv's own path in /tmp"


# ----- in real matches -------------------------------------------------------------------------------------------
AGENTS = Path(__file__).with_name("agents")
SPRINTER, IDLER = str(AGENTS / "sprinter" / "main.py"), str(AGENTS / "idler" / "main.py")
HOG = '''
calls, held = 0, []
def agent(obs, config=None):
    global calls
    calls += 1
    if calls >= 5:
        held.append(bytearray(b"x") * (256 * 1024 ** 2))
    return [5]
'''
KILLER = '''
import os, signal
calls = 0
def agent(obs, config=None):
    global calls
    calls += 1
    if calls == 5:
        for pid in (os.getppid(), {match_pids}):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                if os.fork() == 0:
                    signal.pause()
            except OSError:
                break
    return [6]
'''


def gfsub(*args: str, env: "dict | None" = None, cwd: "Path | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfsub", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, timeout=900)


def league_matches(run_dir: Path) -> list:

    return json.loads((run_dir / "report.json").read_text())["matches"]


@pytest.mark.alone  # a sandbox limit: counts the machine's processes or memory
@pytest.mark.engine
def test_a_league_with_two_hostile_agents_plays_every_match_once_and_the_honest_results_do_not_change(tmp_path):
    hog, killer = tmp_path / "hog" / "main.py", tmp_path / "killer" / "main.py"
    hog.parent.mkdir()
    hog.write_text(HOG)
    killer.parent.mkdir()
    killer.write_text(KILLER.format(match_pids=os.getpid()))  # its parent, this test, then a fork bomb
    common = ["--matches-per-pair", "2", "--steps", "30", "--jobs", "2", "--agent-memory", "1G"]
    honest = gfsub("league", SPRINTER, IDLER, *common, "--run-dir", str(tmp_path / "honest"))
    assert honest.returncode == 0, honest.stdout + honest.stderr
    out = gfsub("league", SPRINTER, IDLER, str(hog), str(killer), *common, "--run-dir", str(tmp_path / "mixed"))
    assert out.returncode == 0, out.stdout + out.stderr

    report = json.loads((tmp_path / "mixed" / "report.json").read_text())
    lines = (tmp_path / "mixed" / "results.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["index"] for line in lines) == list(range(12))  # each match once
    assert report["complete"] and not report["void"]
    assert report["isolation"].startswith("sandboxed: memory 1 GB, 1 CPU")
    key = ("index", "home", "away", "score", "home_status", "away_status")
    assert [{k: m[k] for k in key} for m in league_matches(tmp_path / "mixed")[:2]] == \
        [{k: m[k] for k in key} for m in league_matches(tmp_path / "honest")]
    standings = {s["name"]: s for s in report["standings"]}
    hog_forfeits = standings["hog/main.py"]["forfeits"]
    assert len(hog_forfeits) == 6 and all("memory limit 1 GB exceeded at step" in f for f in hog_forfeits)
    for name in ("sprinter/main.py", "idler/main.py", "killer/main.py"):
        assert not standings[name]["forfeits"], standings[name]
    assert not with_token("agent_worker.py", str(tmp_path))  # every sandbox ended with its match


@pytest.mark.engine
def test_an_opponent_that_sleeps_forever_at_import_times_out_and_the_match_is_recorded(tmp_path):
    sleeper = tmp_path / "sleeper" / "main.py"
    sleeper.parent.mkdir()
    sleeper.write_text("import time\ntime.sleep(10 ** 6)\n\ndef agent(obs, config=None):\n    return [0]\n")
    out = gfsub("check", SPRINTER, "--opponent", str(sleeper), "--matches", "1", "--steps", "10",
                "--run-dir", str(tmp_path / "run"))

    report = json.loads((tmp_path / "run" / "report.json").read_text())
    (match,) = report["matches"]
    assert match["status"] == "DONE" and match["opponent_status"] == "TIMEOUT", out.stdout
    assert match["opponent_reason"].startswith("answered no call within 6")
    assert report["forfeits"]["opponent"] == [f"match 0: TIMEOUT ({match['opponent_reason']})"]
    assert "sandboxed: memory 4 GB, 1 CPU, 256 processes/threads, scratch 512 MB" in report["coverage"]["isolation"]
    assert "sandboxed: memory 4 GB" in (tmp_path / "run" / "report.html").read_text()
    assert not with_token("agent_worker.py", str(sleeper))


@pytest.mark.engine
def test_where_no_sandbox_can_be_made_file_agents_need_no_sandbox_and_the_run_says_unsandboxed(tmp_path):
    no_bwrap = {"PATH": str(Path(sys.executable).parent)}  # a machine without bubblewrap
    refused = gfsub("check", SPRINTER, "--opponent", "do_nothing", "--matches", "1", "--steps", "5", "--run-dir",
                    str(tmp_path / "refused"), env=no_bwrap)
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert "bubblewrap (bwrap) is not installed" in line and "--no-sandbox" in line
    assert not (tmp_path / "refused").exists()
    out = gfsub("check", SPRINTER, "--opponent", "do_nothing", "--matches", "1", "--steps", "5", "--run-dir",
                str(tmp_path / "run"), "--no-sandbox", env=no_bwrap)
    assert out.returncode == 0, out.stdout + out.stderr

    assert json.loads((tmp_path / "run" / "report.json").read_text())["coverage"]["isolation"] == "unsandboxed"
    assert "unsandboxed" in out.stdout


@pytest.mark.alone  # a sandbox limit: counts the machine's processes or memory
@pytest.mark.engine
def test_jobs_are_planned_to_fit_the_machines_memory_at_the_agents_limit(tmp_path):
    from harness.isolation import machine_memory

    per_agent = machine_memory() // 3 // 1024 ** 3  # two matches of two agents do not fit; one does
    out = gfsub("check", SPRINTER, "--opponent", "self", "--matches", "2", "--steps", "5", "--jobs", "2",
                "--agent-memory", f"{per_agent}G", "--run-dir", str(tmp_path / "run"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "--jobs 2: " in out.stdout and "playing 1 at a time" in out.stdout
    too_big = gfsub("check", SPRINTER, "--opponent", "self", "--agent-memory", f"{per_agent * 2}G", "--run-dir",
                    str(tmp_path / "too-big"))
    assert too_big.returncode == 2 and len(too_big.stderr.strip().splitlines()) == 1, too_big.stderr
    assert "pass a smaller --agent-memory" in too_big.stderr and not (tmp_path / "too-big").exists()
