"""The fork server: one process imports gfsub once, then runs each mutation in a forked child of its own.

`python -m tests.fuzz.server` reads one JSON job a line on stdin and answers one JSON line per job on stdout. Each
job runs in a real child process, as the `gfsub` CLI runs it: inside the CLI's own handler (`handled()`: a gfsub
error is one line and exit 2, anything else exit 3) and its quiet terminal (third-party output to a log, here one
per job). The child's stdout and stderr go to files; its address space is capped at what it had plus 2 GiB
(RLIMIT_AS), so a huge allocation fails instead of swapping the machine; it is killed after the job's timeout. The
answer: the exit status (or -signal), seconds, the child's peak resident memory (ru_maxrss, which includes the
pages it shares with the server), and what it printed.

Kinds of job: "build" (builder.pipeline.build with verify=False: load, validate, render, write; verification is
the capped full builds' part, tests/fuzz/harness.py) and "episode" (what `gfsub replay` reads of an episode before
it starts main.py).
"""

import json
import os
import resource
import signal
import sys
import time
from pathlib import Path

EXTRA_ADDRESS_SPACE = 2 << 30
POLL = 0.005


def run_build(job: dict) -> None:
    from builder.pipeline import build

    build(job["model"], job["output"], verify=False, **job.get("options", {}))


def run_episode(job: dict) -> None:
    from harness.episode import choose_side, read_episode

    episode = read_episode(Path(job["model"]))
    side = choose_side(episode, 0)
    episode.turns(side)
    episode.statuses()
    episode.forfeit_step(side)


KINDS = {"build": run_build, "episode": run_episode}


def warm_up(jobs: list) -> None:
    """Run each warm-up job here once, so that every child starts with gfsub imported and its caches filled."""
    for job in jobs:
        try:
            KINDS[job["kind"]](job)
        except Exception as exc:  # noqa: BLE001 - a seed that does not build is the harness's to report
            print(json.dumps({"warm_up_failed": f"{type(exc).__name__}: {exc}"}), flush=True)
            sys.exit(1)


def address_space() -> int:
    """This process's virtual size in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def child(job: dict) -> None:
    """In the forked child: the job as the CLI runs a command; never returns."""
    folder = Path(job["folder"])
    limit = address_space() + EXTRA_ADDRESS_SPACE
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    code = 1
    try:
        _redirect(folder)
        code = _handled(job, folder / "gfsub.log")
    except BaseException:  # noqa: BLE001 - whatever escapes the CLI's handler is printed as Python would
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _redirect(folder: Path) -> None:
    for descriptor, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        handle = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, descriptor)
        os.close(handle)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)


def _handled(job: dict, log: Path) -> int:
    """The CLI's handler and quiet terminal around the job, the log moved to the job's folder; -> exit code."""
    import common.cache
    import gfsub.quiet
    from gfsub.cli import handled, quiet

    common.cache.log_path = gfsub.quiet.log_path = lambda: log
    try:
        with handled(), quiet():
            KINDS[job["kind"]](job)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def serve(job: dict) -> dict:
    """Fork, run, wait (killing the child at the timeout); -> the answer line."""
    Path(job["folder"]).mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(job)
    status, usage, timed_out = _wait(pid, start + job.get("timeout", 60))
    seconds = time.monotonic() - start
    folder = Path(job["folder"])
    return {"id": job["id"], "status": _exit_status(status), "timed_out": timed_out, "seconds": round(seconds, 3),
            "peak_mb": round(usage.ru_maxrss / 1024, 1),
            "stdout": _read(folder / "stdout.txt"), "stderr": _read(folder / "stderr.txt")}


def _wait(pid: int, deadline: float) -> tuple:
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, False
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage, True
        time.sleep(POLL)


def _exit_status(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)


def _read(path: Path, limit: int = 20000) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def main() -> None:
    """Warm-up jobs on the first line (a JSON list), then one job a line until stdin closes."""
    warm_up(json.loads(sys.stdin.readline()))
    print(json.dumps({"ready": True, "baseline_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                                          / 1024, 1)}), flush=True)
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(serve(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
