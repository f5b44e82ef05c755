"""An agent that lives in a target runtime's own process, called through a pipe.

As on Kaggle, where each agent ran in its own container behind an HTTP runner: the worker process
(workers/agent_worker.py on the runtime's interpreter) is started before the match, the agent file is loaded
lazily by the first call (so step 1 includes the load), and every call is one JSON round trip, which
kaggle-environments' own per-step timer therefore includes.
"""

import base64
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from runtimes.registry import Runtime
from runtimes.sandbox import AGENT_FOLDER, Cgroups, Limits, sandboxed_command

WORKERS = Path(__file__).with_name("workers")
WORKER = WORKERS / "agent_worker.py"
MAX_REPLY = 64 * 1024 ** 2  # bytes: a longer length prefix is garbage
READY_MARK = b"\n--- gfsub agent worker ready ---\n"  # written by the worker to its stderr once it is up


def unpacked(values) -> "list | None":
    """One step's values as floats, from what was recorded: base64 float32 bytes (a hosted agent's reply, see the
    agent worker's packed_values_of), an array (an agent loaded in the match process), a list, or None."""
    if values is None:
        return None
    if isinstance(values, str):
        return np.frombuffer(base64.b64decode(values), dtype="<f4").tolist()
    return np.asarray(values, dtype=np.float32).tolist()


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
    """Callable like a kaggle-environments agent: `agent(observation, configuration) -> action`.

    With `sandbox` (Limits), the worker runs in a sandbox of its own (sandbox.py): the agent's folder is then at
    /kaggle_simulations/agent, as on Kaggle, and everything the agent starts ends with `close()`."""

    def __init__(self, runtime: Runtime, agent_file: "str | Path", sandbox: "Limits | None" = None,
                 record_values: bool = True) -> None:
        self.runtime = runtime
        self.record_values = record_values  # ask for a gfsub main.py's values behind each action
        self.values = []  # per answered call: those values, or None (not a gfsub agent)
        self.agent_file = str(Path(agent_file).resolve())
        self.sandbox = sandbox
        self.process = None
        self.error = ""  # the full traceback / reason of the last failure, for reports
        self.reason = ""  # one line: why the agent forfeited ("memory limit 4 GB exceeded", "killed by signal 9")
        self.stats = CallStats()
        self.start_seconds = 0.0
        self.steps = 0  # calls answered
        self.loaded = False  # the agent's file has been loaded (by the first call)
        self.last_stderr = ""  # what the agent printed to stderr during the last call
        self._output = None
        self._cgroups = None
        self._configured = False

    # ----- process ---------------------------------------------------------------------------------------------
    def start(self) -> "RuntimeAgent":
        """Start the runtime's interpreter and its loader (not the agent itself: that is the first call's job)."""
        start = time.perf_counter()
        to_worker_read, to_worker_write = os.pipe()
        from_worker_read, from_worker_write = os.pipe()
        output_read, output_write = os.pipe()  # the worker's own fd-level output (crash messages, C++ logs)
        fds = [str(to_worker_read), str(from_worker_write)]
        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **self.runtime.spec.environment}
        if self.sandbox is not None:
            self._cgroups = Cgroups(self.sandbox, f"gfsub-{os.getpid()}-{id(self)}")
            inside = f"{AGENT_FOLDER}/{Path(self.agent_file).name}"
            command = sandboxed_command(self.runtime.python, WORKER, [*fds, inside],
                                        agent_folder=str(Path(self.agent_file).parent), limits=self.sandbox,
                                        cgroups=self._cgroups, environment=environment)
            env, cwd = {}, "/"
        else:
            command = worker_command(self.runtime.python, WORKER, *fds, self.agent_file)
            env, cwd = {**os.environ, **environment}, str(Path(self.agent_file).parent)
        self.process = subprocess.Popen(command, pass_fds=(to_worker_read, from_worker_write),
                                        stdin=subprocess.DEVNULL, stdout=output_write, stderr=output_write,
                                        cwd=cwd, env=env, start_new_session=True)
        for descriptor in (to_worker_read, from_worker_write, output_write):
            os.close(descriptor)
        self._output = OutputTail(output_read)
        self._requests = os.fdopen(to_worker_write, "wb")
        self._replies = os.fdopen(from_worker_read, "rb", buffering=0)  # unbuffered: select() sees every byte
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
            self._kill()
        self._kill()  # whatever the agent left behind
        self.process = None

    def _kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        if self._cgroups is not None:
            self._cgroups.kill_all()
        if self._output is not None:
            self._output.join()

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

    def _receive(self, timeout: "float | None" = None) -> "dict | None":
        """The next reply; None if none came within `timeout` seconds. The worker's note that the agent's file
        has loaded ({"loaded": true}, before the first call's reply) is noted, not returned."""
        end = None if timeout is None else time.perf_counter() + timeout
        while True:
            header = _read_exactly(self._replies, 4, end)
            if header is None:
                return None
            if len(header) < 4:
                self._crashed()
            (length,) = struct.unpack("<I", header)
            body = _read_exactly(self._replies, length, end) if length <= MAX_REPLY else b""
            if body is None:
                return None
            try:
                message = json.loads(body)
            except ValueError:  # a garbled reply: the agent wrote to the worker's pipe, or forked a copy that did
                message = None
            if not isinstance(message, dict):
                self._crashed("broke the worker's pipe protocol")
            if not message.get("loaded"):
                return message
            self.loaded = True

    def worker_output(self) -> str:
        """The last lines the worker process printed outside the agent's calls (crash messages)."""
        return self._output.text() if self._output is not None else ""

    def _crashed(self, how: str = "") -> None:
        """The worker died (or broke the protocol: `how`): kill what is left, find out why, raise."""
        limit = self._cgroups.verdict() if self._cgroups is not None else ""
        if how:
            self._kill()
        code = self.process.wait() if self.process is not None else None
        self._kill()  # everything it left behind; its last output is read to the end
        when = f"at step {self.steps + 1}" if self.loaded else "at import"
        if limit:
            self.reason = f"{limit} {when}"
        elif how:
            self.reason = f"{how} {when}"
        elif code is not None and (code < 0 or code >= 128):
            self.reason = f"killed by signal {-code if code < 0 else code - 128} {when}"
        else:
            self.reason = f"exited with status {code} {when}"
        detail = self.worker_output().strip()
        summary = f"the agent's process in runtime {self.runtime.name}: {self.reason}" + (
            f" ({detail.splitlines()[-1]})" if detail else "")
        self.error = summary + ("\n" + detail[-3000:] if detail else "")
        raise AgentProcessError(summary, self.error)

    def _failed(self, reply: dict) -> None:
        """Raise for a failure reply, keeping the traceback and a hint for a missing module."""
        details = reply.get("error", "")
        if reply.get("missing_module"):
            details += missing_module_hint(reply["missing_module"], self.runtime, self.agent_file) + "\n"
        self.error = details
        last = details.strip().splitlines()[-1] if details.strip() else reply.get("exception", "error")
        limit = self._cgroups.verdict() if self._cgroups is not None else ""  # e.g. fork() failed at the cap
        when = "at import" if reply.get("at_import") else f"at step {self.steps + 1}"
        self.reason = f"{limit} {when}" if limit else f"raised {last} {when}"
        raise AgentProcessError(f"in runtime {self.runtime.name} ({self.runtime.describe()}): {last}", details)

    # ----- calls ----------------------------------------------------------------------------------------------
    def __call__(self, observation, configuration=None):
        """One step: forward the agent's prints to this process's stdout/stderr (which kaggle-environments
        captures), return its action, or raise (kaggle-environments then rules the match an ERROR). An agent that
        does not answer within Kaggle's bound (the step limit plus the overage left, and a second) is killed and
        the call returns once that time is up, which kaggle-environments rules a TIMEOUT, as Kaggle does."""
        if self.process is None:
            self.start()
        if self.reason:  # killed for its time, or dead: kaggle-environments has ruled already
            raise AgentProcessError(self.reason, self.error)
        start = time.perf_counter()
        request = {"cmd": "act", "observation": observation, "values": self.record_values}
        if not self._configured:
            request["configuration"] = configuration
            self._configured = True
        self._send(request)
        reply = self._receive(timeout=deadline(observation, configuration))
        if reply is None:
            self.reason = f"answered no call within {time.perf_counter() - start:.0f} s: out of time"
            self.error = self.reason
            self._kill()
            return [0]
        if reply.get("stdout"):
            sys.stdout.write(reply["stdout"])
        self.last_stderr = reply.get("stderr", "")
        if self.last_stderr:
            sys.stderr.write(self.last_stderr)
        if not reply["ok"]:
            sys.stderr.write(reply.get("error", ""))
            self._failed(reply)
        self.steps += 1
        if self.record_values:
            self.values.append(reply.get("values"))
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


def _read_exactly(stream, size: int, end: "float | None" = None) -> "bytes | None":
    """`size` bytes from an unbuffered stream, fewer if it ends first, None if time.perf_counter() passes `end`."""
    data = b""
    while len(data) < size:
        if end is not None:
            ready, _, _ = select.select([stream], [], [], max(0.0, end - time.perf_counter()))
            if not ready:
                return None
        chunk = stream.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def deadline(observation, configuration) -> "float | None":
    """Seconds a call may take before Kaggle rules it a TIMEOUT: the step limit, the overage left, and a second."""
    try:
        return float(configuration["actTimeout"]) + float(observation["remainingOverageTime"]) + 1.0
    except (KeyError, TypeError, ValueError):
        return None


class OutputTail:
    """Reads a process's output in a thread, keeping its last `keep` bytes (an agent may print without end)."""

    def __init__(self, descriptor: int, keep: int = 64 * 1024) -> None:
        self._pipe, self._keep, self._data = os.fdopen(descriptor, "rb"), keep, b""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._pipe:
            for chunk in iter(lambda: self._pipe.read1(65536), b""):
                self._data = (self._data + chunk)[-self._keep:]

    def text(self) -> str:
        """What the process printed after the worker's ready mark (before it: the loader's own messages)."""
        return self._data.rpartition(READY_MARK)[2].decode("utf-8", "replace")

    def join(self) -> None:
        self._thread.join(timeout=5)


def probe_load(python: str, agent_file: str, timeout: float, sandbox: "Limits | None" = None,
               environment: "dict | None" = None) -> str:
    """'' if the file loads to a callable in a fresh worker process of `python` (the loader it will play under, in
    its sandbox when given), else what went wrong, in one line."""
    read_end, write_end = os.pipe()
    cgroups = None
    try:
        if sandbox is not None:
            cgroups = Cgroups(sandbox, f"gfsub-probe-{os.getpid()}-{read_end}")
            command = sandboxed_command(python, WORKER, ["--probe", f"{AGENT_FOLDER}/{Path(agent_file).name}",
                                                         str(write_end)], agent_folder=str(Path(agent_file).parent),
                                        limits=sandbox, cgroups=cgroups, environment=environment or {})
            cwd, env = "/", {}
        else:
            command = worker_command(python, WORKER, "--probe", agent_file, str(write_end))
            cwd, env = str(Path(agent_file).parent), {**os.environ, **(environment or {})}
        process = subprocess.Popen(command, pass_fds=(write_end,), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env,
                                   start_new_session=True)
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return f"did not load within {timeout:.0f} s"
            data = pipe.read()
    finally:
        for descriptor in (read_end, write_end):
            if descriptor >= 0:
                os.close(descriptor)
        if cgroups is not None:
            cgroups.kill_all()
    if not data:
        return f"its loader process exited with code {process.returncode} without loading it"
    return json.loads(data)
