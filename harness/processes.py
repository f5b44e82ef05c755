"""Match processes: start one per match, stream its progress, kill it at a wall-clock bound or on Ctrl-C.

Each match runs as `python -m harness.match` in its own process group (a crash, hang or leak stays there), with
its math libraries pinned to its share of the cores so that timings are not inflated by contention.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict

from harness.results import MatchResult, MatchSpec

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


class MatchProcesses:
    """The match processes running now (each the leader of its own process group), so that an interruption can
    kill them all, and none starts after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = set()
        self.stopping = False

    def start(self, command: list, **popen) -> "subprocess.Popen | None":
        with self._lock:
            if self.stopping:
                return None
            process = subprocess.Popen(command, start_new_session=True, **popen)
            self._running.add(process)
            return process

    def done(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            for process in self._running:
                kill_group(process)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the match, its engine and any agent process it started
    except ProcessLookupError:
        pass


def match_environment(threads: int) -> dict:
    return {**os.environ, **dict.fromkeys(THREAD_VARIABLES, str(threads))}


def run_match(spec: MatchSpec, timeout: float, threads: int, processes: "MatchProcesses | None" = None,
              on_progress: "Callable[[int, int], None] | None" = None, die_with_parent: bool = False
              ) -> "MatchResult | None":
    """Play one match in a subprocess limited to `threads`; kill its process group at the wall-clock bound.
    `on_progress(index, steps played)` is called as the match reports progress. `die_with_parent`: the match is
    killed if the calling process dies (a Ray worker lost with its node).
    -> the result, or None if the run was interrupted before or while it played."""
    processes = processes or MatchProcesses()
    read_end, write_end = os.pipe()
    # -I: the working directory is not on sys.path, so no file of the user's shadows a module of the match
    command = [sys.executable, "-I", "-m", "harness.match", json.dumps(asdict(spec)), str(write_end)]
    start = time.monotonic()
    with tempfile.TemporaryFile() as output:  # the match's own stdout/stderr: engine and library logs
        process = processes.start(command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                  pass_fds=(write_end,), env=match_environment(threads),
                                  preexec_fn=_die_with_parent if die_with_parent else None)
        os.close(write_end)
        if process is None:
            os.close(read_end)
            return None
        reader = ReportReader(read_end, spec.index, on_progress)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            process.wait()
            reader.join()
            return MatchResult.unfinished(spec, "HUNG", f"killed after {timeout:.0f} s of wall time: the agent or "
                                          "the engine hung")
        finally:
            processes.done(process)
        reader.join()
        if processes.stopping:
            return None
        if process.returncode != 0 or reader.result is None:
            output.seek(0)
            return MatchResult.unfinished(spec, "CRASHED", output.read().decode("utf-8", "replace")[-4000:])
    result = MatchResult.from_dict(reader.result)
    result.wall = time.monotonic() - start
    return result


class ReportReader:
    """Reads a match's report pipe in a thread: progress lines to the callback, the result line kept."""

    def __init__(self, descriptor: int, index: int, on_progress) -> None:
        self.result = None
        self._pipe = os.fdopen(descriptor, "r")
        self._index, self._on_progress = index, on_progress
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._pipe:
            for line in self._pipe:
                kind, _, payload = line.partition(" ")
                if kind == "progress" and self._on_progress is not None:
                    self._on_progress(self._index, int(payload))
                elif kind == "result":
                    self.result = json.loads(payload)

    def join(self) -> None:
        self._thread.join(timeout=30)


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the parent dies (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM stops a run the way Ctrl-C does (only the main thread can install a handler)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
