"""An agent that lives in a target runtime's own process, called through a pipe.

As on Kaggle, where each agent ran in its own container behind an HTTP runner: the worker process
(workers/agent_worker.py on the runtime's interpreter) is started before the match, the agent file is loaded
lazily by the first call (so step 1 includes the load), and every call is one JSON round trip, which
kaggle-environments' own per-step timer therefore includes.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from runtimes.registry import Runtime

WORKERS = Path(__file__).with_name("workers")
WORKER = WORKERS / "agent_worker.py"


def worker_command(python: str, worker: Path, *args: str) -> list:
    """How a worker script is started: `-I`, so that neither its folder nor the working directory nor PYTHON*
    variables shape sys.path (an agent then imports only what its runtime's loader makes importable, as on
    Kaggle), and `-B`, so that no bytecode is written beside an agent's modules."""
    return [python, "-I", "-B", str(worker), *args]


class AgentProcessError(RuntimeError):
    """The agent failed in its runtime (load error, exception, crash); `.details` has the traceback."""

    def __init__(self, summary: str, details: str) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details


@dataclass
class ReplayResult:
    actions: list
    q_values: list  # per step: list of floats, or None for agents that are not gfsub's
    seconds: list  # per step, measured inside the runtime; the first includes loading main.py


@dataclass
class CallStats:
    """Round-trip cost: wall time of each call here minus the agent's own time in the runtime."""

    overhead: list = field(default_factory=list)


def missing_module_hint(module: str, runtime: Runtime, agent_file: "str | None" = None) -> str:
    top = module.split(".")[0]
    folder = Path(agent_file).parent if agent_file else None
    if folder is not None and ((folder / f"{top}.py").is_file() or (folder / top).is_dir()):
        return (f"hint: {top} is beside main.py, but this runtime's loader ({runtime.name}) does not put main.py's "
                "folder on sys.path (Kaggle's 2020 loader did not either): submissions of that time added "
                "/kaggle_simulations/agent to sys.path themselves")
    hint = (f"hint: module {module!r} is not installed in runtime {runtime.name} ({runtime.describe()}); "
            f"add it to that runtime's requirements in gfsub-runtimes.toml")
    if module.split(".")[0] == "gfootball":
        hint += (" (gfootball itself cannot be built for every Python here; Kaggle's runners did not provide it to "
                 "agents either: draw the observation without it)")
    return hint


class RuntimeAgent:
    """Callable like a kaggle-environments agent: `agent(observation, configuration) -> action`."""

    def __init__(self, runtime: Runtime, agent_file: "str | Path") -> None:
        self.runtime = runtime
        self.agent_file = str(Path(agent_file).resolve())
        self.process = None
        self.error = ""  # the full traceback / reason of the last failure, for reports
        self.stats = CallStats()
        self.start_seconds = 0.0
        self._log = None
        self._configured = False

    # ----- process ---------------------------------------------------------------------------------------------
    def start(self) -> "RuntimeAgent":
        """Start the runtime's interpreter and its loader (not the agent itself: that is the first call's job)."""
        start = time.perf_counter()
        to_worker_read, to_worker_write = os.pipe()
        from_worker_read, from_worker_write = os.pipe()
        self._log = tempfile.TemporaryFile()  # the worker's own fd-level output (e.g. TensorFlow's C++ logs)
        self.process = subprocess.Popen(
            worker_command(self.runtime.python, WORKER, str(to_worker_read), str(from_worker_write), self.agent_file),
            pass_fds=(to_worker_read, from_worker_write), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=str(Path(self.agent_file).parent),
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **self.runtime.spec.environment})
        os.close(to_worker_read)
        os.close(from_worker_write)
        self._requests = os.fdopen(to_worker_write, "wb")
        self._replies = os.fdopen(from_worker_read, "rb")
        self._receive()  # the worker's hello: it is up and its loader is imported
        self.start_seconds = time.perf_counter() - start
        return self

    def close(self) -> None:
        if self.process is None:
            return
        for stream in (self._requests, self._replies):
            try:
                stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> "RuntimeAgent":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- protocol -------------------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        data = orjson.dumps(message)  # standard JSON, ~20x faster than json.dumps on an observation
        try:
            self._requests.write(struct.pack("<I", len(data)) + data)
            self._requests.flush()
        except (BrokenPipeError, OSError):
            self._crashed()

    def _receive(self) -> dict:
        header = self._replies.read(4)
        if len(header) < 4:
            self._crashed()
        (length,) = struct.unpack("<I", header)
        return json.loads(self._replies.read(length).decode("utf-8"))

    def worker_output(self) -> str:
        """The last lines the worker process printed outside the agent's calls (crash messages)."""
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-3000:]

    def _crashed(self) -> None:
        code = self.process.wait() if self.process is not None else None
        detail = self.worker_output().strip()
        summary = (f"the agent's process in runtime {self.runtime.name} exited with code {code}"
                   + (f": {detail.splitlines()[-1]}" if detail else ""))
        self.error = summary + ("\n" + detail if detail else "")
        raise AgentProcessError(summary, self.error)

    def _failed(self, reply: dict) -> None:
        """Raise for a failure reply, keeping the traceback and a hint for a missing module."""
        details = reply.get("error", "")
        if reply.get("missing_module"):
            details += missing_module_hint(reply["missing_module"], self.runtime, self.agent_file) + "\n"
        self.error = details
        last = details.strip().splitlines()[-1] if details.strip() else reply.get("exception", "error")
        raise AgentProcessError(f"in runtime {self.runtime.name} ({self.runtime.describe()}): {last}", details)

    # ----- calls ----------------------------------------------------------------------------------------------
    def __call__(self, observation, configuration=None):
        """One step: forward the agent's prints to this process's stdout/stderr (which kaggle-environments
        captures), return its action, or raise (kaggle-environments then rules the match an ERROR)."""
        if self.process is None:
            self.start()
        start = time.perf_counter()
        request = {"cmd": "act", "observation": observation}
        if not self._configured:
            request["configuration"] = configuration
            self._configured = True
        self._send(request)
        reply = self._receive()
        if reply.get("stdout"):
            sys.stdout.write(reply["stdout"])
        if reply.get("stderr"):
            sys.stderr.write(reply["stderr"])
        if not reply["ok"]:
            sys.stderr.write(reply.get("error", ""))
            self._failed(reply)
        self.stats.overhead.append(time.perf_counter() - start - reply["seconds"])
        return reply["action"]

    def replay(self, observations: list, configuration=None) -> ReplayResult:
        """Load the agent afresh and feed it these observations in order (the worker must not have acted yet)."""
        if self.process is None:
            self.start()
        self._send({"cmd": "replay", "observations": observations, "configuration": configuration})
        reply = self._receive()
        if not reply["ok"]:
            self._failed(reply)
        return ReplayResult(reply["actions"], reply["q_values"], reply["seconds"])


def probe_load(python: str, agent_file: str, timeout: float) -> str:
    """'' if the file loads to a callable in a fresh worker process of `python` (the loader it will play under),
    else what went wrong, in one line."""
    read_end, write_end = os.pipe()
    try:
        process = subprocess.Popen(worker_command(python, WORKER, "--probe", agent_file, str(write_end)),
                                   pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=str(Path(agent_file).parent))
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return f"did not load within {timeout:.0f} s"
            data = pipe.read()
    finally:
        for descriptor in (read_end, write_end):
            if descriptor >= 0:
                os.close(descriptor)
    if not data:
        return f"its loader process exited with code {process.returncode} without loading it"
    return json.loads(data)
