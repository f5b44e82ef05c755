"""A worker script that runs code a model file carries (its Lambda layers, its pickles), for the builder: in a
sandbox of its own by default (sandbox.py: no network, no home, no other process, memory and process caps), the
files it reads bound read-only, and one folder it writes, through which its results come back.

Unsandboxed only where no sandbox can be made and the user passed --no-sandbox: then the same paths are the host's.
"""

import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import SandboxUnavailableError
from runtimes.hosted import worker_command
from runtimes.registry import Runtime
from runtimes.sandbox import Cgroups, Limits, sandboxed_command, unavailable_reason

IO_FOLDER = "/gfsub/io"  # inside the sandbox: the folder the worker writes
INPUT_FOLDER = "/gfsub/input"  # inside the sandbox: the files it reads, each bound read-only
LIMITS = Limits(memory=4 * 1024 ** 3, cpus=float(os.cpu_count() or 1), processes=1024, scratch=512 * 1024 ** 2)


@dataclass
class JobFolder:
    """The scratch folder a job writes, and the files it reads, as the worker sees them."""

    host: Path
    sandboxed: bool = True
    reads: list = field(default_factory=list)  # (host path, path inside)

    def io(self, name: str) -> "tuple[Path, str]":
        """A file of the scratch folder: (its host path, its path for the worker)."""
        return self.host / name, (f"{IO_FOLDER}/{name}" if self.sandboxed else str(self.host / name))

    def read(self, host: Path, name: str) -> str:
        """A file (or folder) the worker reads, under `name` (Keras picks its reader by the extension)."""
        if not self.sandboxed:
            link = self.host / name
            link.symlink_to(Path(host).resolve())
            return str(link)
        inside = f"{INPUT_FOLDER}/{name}"
        self.reads.append((Path(host).resolve(), inside))
        return inside


class JobProcess:
    """The worker, started: `wait` or talk to it through stdin / stdout (text), then `stop` (which kills what it
    left behind). Its stderr goes to a file of the scratch folder (`errors`)."""

    def __init__(self, runtime: Runtime, worker: Path, args: list, folder: JobFolder, *, stdin=None,
                 environment: "dict | None" = None, limits: Limits = LIMITS) -> None:
        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **runtime.spec.environment, **(environment or {})}
        self.errors_path = folder.host / "stderr.txt"
        self._errors = self.errors_path.open("w")
        self.cgroups = None
        if folder.sandboxed:
            self.cgroups = Cgroups(limits, f"gfsub-job-{os.getpid()}-{id(self)}")
            binds = tuple((host, inside, False) for host, inside in folder.reads) + ((folder.host, IO_FOLDER, True),)
            command = sandboxed_command(runtime.python, worker, args, agent_folder=None, limits=limits,
                                        cgroups=self.cgroups, environment=environment, binds=binds)
            env = {}
        else:
            command = worker_command(runtime.python, worker, *args)
            env = {**os.environ, **environment}
        self.process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE, stderr=self._errors,
                                        text=True, env=env, start_new_session=True)

    def wait(self, timeout: float) -> "int | None":
        """The exit code, or None when it did not finish within `timeout` seconds (it is then stopped)."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None

    def verdict(self) -> str:
        """Which limit it hit, if any ('memory limit 4 GB exceeded')."""
        return self.cgroups.verdict() if self.cgroups is not None else ""

    def error_lines(self) -> list:
        if not self._errors.closed:
            self._errors.flush()
        return self.errors_path.read_text(errors="replace").splitlines() if self.errors_path.exists() else []

    def end(self, seconds: float) -> None:
        """A served worker's end: its stdin closed (it leaves its loop), `seconds` to exit, then stopped."""
        try:
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.wait(seconds)
        self.stop()

    def stop(self) -> None:
        """Kill the worker and everything it started (its session, and its cgroups)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        if self.cgroups is not None:
            self.cgroups.kill_all()
        if not self._errors.closed:
            self._errors.close()


@dataclass
class JobResult:
    """How a worker run once ended: its exit code (None: stopped at its time limit), its last JSON line on stdout
    ({} without one), the limit it hit ('' if none) and its stderr's lines."""

    code: "int | None"
    answer: dict
    verdict: str
    error_lines: list


def run_once(runtime: Runtime, worker: Path, spec: dict, folder: JobFolder, seconds: float) -> JobResult:
    """Run the worker on SPEC_JSON to its end (stopped after `seconds`), then stop what it left."""
    job = JobProcess(runtime, worker, [json.dumps(spec)], folder)
    try:
        code = job.wait(seconds)
        stdout = job.process.stdout.read() if code is not None else ""
        return JobResult(code, last_json(stdout), job.verdict(), job.error_lines())
    finally:
        job.stop()


def last_error(lines: list) -> str:
    """The last line of a worker's stderr that names a Python error ('ValueError: ...'), or ''."""
    errors = [line.strip() for line in lines if re.match(r"\w[\w.]*(Error|Exception)\b", line.strip())]
    return errors[-1] if errors else ""


def last_json(stdout: str) -> dict:
    """The last line of `stdout` that is a JSON object ({} when there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except json.JSONDecodeError:
                continue
            return found if isinstance(found, dict) else {}
    return {}


def require_sandbox(path: Path, what: str) -> None:
    """SandboxUnavailableError naming `path` where no sandbox can be made (`what`: what would run in it)."""
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailableError(path, f"{what} in a sandbox, and none can be made here: {reason}",
                                      "install it, or pass --no-sandbox to load the file with your rights")
