"""Sandboxes for other people's agents: each file agent plays in its own, as on Kaggle, where each ran in a container.

Built from what Linux and Debian provide, no helper of gfsub's own: bubblewrap (`bwrap`) for the namespaces (user,
pid, net, mount, ipc, uts, cgroup), a uid of nobody's, no capabilities, no new privileges, a root filesystem that is
empty but for read-only binds, and cgroup v1 or v2 controllers for memory, processes and CPU, which `sh` puts the
sandbox in before bwrap starts. Inside, the agent sees:

- the interpreter and the packages of its runtime, read-only, and nothing else of the machine (no /home, no /root's
  files, no run directory, no /tmp of the host);
- its own folder, read-only, at /kaggle_simulations/agent (where Kaggle put it);
- a private tmpfs of `scratch` bytes as its working directory and /tmp;
- a network namespace with a loopback of its own and nothing else;
- no other process: its pid namespace ends, with everything it started, when its first process does.
"""

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

AGENT_FOLDER = "/kaggle_simulations/agent"
WORKER_FOLDER = "/gfsub/workers"
SCRATCH = "/tmp"
NOBODY = 65534
CGROUP_ROOT = Path("/sys/fs/cgroup")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS")


@dataclass(frozen=True)
class Limits:
    """What each sandboxed agent may use (defaults: Kaggle's agent container, 4 GB and 1 CPU)."""

    memory: int = 4 * 1024 ** 3  # bytes
    cpus: float = 1.0
    processes: int = 256  # processes and threads
    scratch: int = 512 * 1024 ** 2  # bytes of its writable tmpfs

    def describe(self) -> str:
        return (f"memory {gigabytes(self.memory)}, {self.cpus:g} CPU, {self.processes} processes/threads, "
                f"scratch {megabytes(self.scratch)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Limits":
        """From run.json's `sandbox` (which also says how the limits are enforced)."""
        return cls(**{name: data[name] for name in ("memory", "cpus", "processes", "scratch") if name in data})


def gigabytes(size: int) -> str:
    return f"{size / 1024 ** 3:g} GB"


def megabytes(size: int) -> str:
    return f"{size / 1024 ** 2:g} MB"


def parse_size(text: str) -> int:
    """'4G', '512M', '1.5G', '4000000000' -> bytes."""
    units = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
    text = str(text).strip().upper().removesuffix("B")
    scale = units.get(text[-1:], 1)
    number = float(text[:-1] if text[-1:] in units else text)
    if number <= 0:
        raise ValueError(text)
    return int(number * scale)


# ----- is there a sandbox to be had here? ---------------------------------------------------------------------
def unavailable_reason() -> str:
    """'' where sandboxes can be made here, else why not (one clause)."""
    if not sys.platform.startswith("linux"):
        return f"this is {sys.platform}, not Linux: there are no namespaces to sandbox agents in"
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed (Debian: apt install bubblewrap)"
    probe = subprocess.run(["bwrap", *namespace_flags(), "--ro-bind", "/", "/", "true"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines() or [f"exit code {probe.returncode}"]
        return f"bwrap cannot make namespaces here ({lines[-1]})"
    return ""


def namespace_flags() -> list:
    return ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(NOBODY), "--gid", str(NOBODY), "--disable-userns"]


# ----- cgroups ------------------------------------------------------------------------------------------------
class Cgroups:
    """One agent's cgroups (v1: memory, pids, cpu controllers; v2: one group), made under gfsub's own.

    `enter_script` is the shell line that puts a process in them before it runs anything else."""

    def __init__(self, limits: Limits, name: str) -> None:
        self.limits, self.groups = limits, {}
        for controller, settings in self._settings().items():
            folder = _own_cgroup(controller) / name
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for key, value in settings.items():
                    target = folder / key
                    if target.exists():
                        target.write_text(str(value))
                self.groups[controller] = folder
            except OSError:
                continue

    @property
    def capped(self) -> list:
        """Which limits are enforced here (memory, processes, cpu)."""
        names = {"memory": "memory", "pids": "processes", "cpu": "cpu", "unified": "memory, processes, cpu"}
        return [names[c] for c in self.groups]

    def _settings(self) -> dict:
        if _cgroup_v2():
            quota = int(self.limits.cpus * 100000)
            return {"unified": {"memory.max": self.limits.memory, "memory.swap.max": 0,
                                "pids.max": self.limits.processes, "cpu.max": f"{quota} 100000"}}
        return {"memory": {"memory.limit_in_bytes": self.limits.memory,
                           "memory.memsw.limit_in_bytes": self.limits.memory},
                "pids": {"pids.max": self.limits.processes},
                "cpu": {"cpu.cfs_period_us": 100000, "cpu.cfs_quota_us": int(self.limits.cpus * 100000)}}

    def enter_script(self) -> str:
        return "".join(f"echo $$ > {folder / 'cgroup.procs'} && " for folder in self.groups.values())

    def verdict(self) -> str:
        """Which limit an agent that died hit, if any: 'memory limit 4 GB exceeded', 'process limit reached'."""
        memory = self.groups.get("memory") or self.groups.get("unified")
        if memory is not None:
            events = _read(memory / "memory.events") if (memory / "memory.events").exists() else _read(
                memory / "memory.oom_control")
            killed = _counter(events, "oom_kill") if "oom_kill" in events else _counter(
                _read(memory / "memory.failcnt"), "")  # kernels before 4.13 count only the limit's hits
            if killed > 0:
                return f"memory limit {gigabytes(self.limits.memory)} exceeded"
        pids = self.groups.get("pids") or self.groups.get("unified")
        if pids is not None and _counter(_read(pids / "pids.events"), "max") > 0:
            return f"process limit reached ({self.limits.processes} processes/threads)"
        return ""

    def kill_all(self) -> None:
        """SIGKILL every process still in the cgroups (all the agent started), then remove them."""
        for _ in range(50):
            pids = {int(p) for folder in self.groups.values() for p in _read(folder / "cgroup.procs").split()}
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)
        for folder in self.groups.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _counter(text: str, key: str) -> int:
    """`key N` in a cgroup events file (or the file's one number when key is '')."""
    for line in text.splitlines():
        parts = line.split()
        if not key and len(parts) == 1 and parts[0].isdigit():
            return int(parts[0])
        if len(parts) == 2 and parts[0] == key and parts[1].isdigit():
            return int(parts[1])
    return 0


def _cgroup_v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


def _own_cgroup(controller: str) -> Path:
    """Where this process's cgroup of `controller` is (the sandboxes' groups go under it)."""
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        _, controllers, path = line.split(":", 2)
        if controller == "unified" and controllers == "":
            return CGROUP_ROOT / path.lstrip("/")
        if controller in controllers.split(","):
            return CGROUP_ROOT / controller / path.lstrip("/")
    return CGROUP_ROOT / controller


# ----- the command --------------------------------------------------------------------------------------------
def sandboxed_command(python: str, worker: Path, args: list, *, agent_folder: "str | None", limits: Limits,
                      cgroups: "Cgroups | None", environment: dict, binds: tuple = ()) -> list:
    """The runtime's interpreter on a worker script, wrapped in bwrap and entered into its cgroups first.

    The runtime's venv and the interpreter it was made from are bound read-only at their own paths (a venv's python
    is a link to its base), the workers' folder at WORKER_FOLDER, the agent's folder (if any) at AGENT_FOLDER, and
    each of `binds` (host path, path inside, writable) where it says."""
    venv, base = Path(python).parent.parent, Path(os.path.realpath(python)).parent.parent
    # The scratch first: a venv or interpreter under /tmp (a $GFSUB_CACHE there) is then bound on top of it, not
    # hidden under it.
    extra = binds
    binds = ["--size", str(limits.scratch), "--tmpfs", SCRATCH,
             "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
             "--ro-bind-try", "/etc/localtime", "/etc/localtime"]
    for link in ("lib", "lib64", "bin", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            binds += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            binds += ["--ro-bind", str(target), str(target)]
    for folder in dict.fromkeys([str(base), str(venv)]):
        binds += ["--ro-bind", folder, folder]
    binds += ["--ro-bind", str(worker.parent), WORKER_FOLDER]
    if agent_folder is not None:
        binds += ["--ro-bind", agent_folder, AGENT_FOLDER]
    for host, inside, writable in extra:
        binds += ["--bind" if writable else "--ro-bind", str(host), inside]
    threads = str(max(1, math.ceil(limits.cpus)))
    variables = {"PATH": "/usr/bin:/bin", "HOME": SCRATCH, "LANG": "C.UTF-8", "TMPDIR": SCRATCH,
                 **dict.fromkeys(THREAD_VARIABLES, threads), **environment}
    env = [item for key, value in variables.items() for item in ("--setenv", key, value)]
    inner = [python, "-I", "-B", f"{WORKER_FOLDER}/{worker.name}", *args]
    bwrap = ["bwrap", *namespace_flags(), *binds, "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/",
             "--chdir", SCRATCH, "--clearenv", *env, *inner]
    capped = cgroups.capped if cgroups is not None else []
    if "memory" not in " ".join(capped) and shutil.which("prlimit"):
        # No memory cgroup to be had: an rlimit on the data segment instead (heap and private mappings).
        bwrap = ["prlimit", f"--data={limits.memory}", "--", *bwrap]
    if not capped:
        return bwrap
    return ["/bin/sh", "-c", cgroups.enter_script() + 'exec "$@"', "gfsub-sandbox", *bwrap]


def enforcement() -> str:
    """How the limits are enforced here: 'cgroup v1: memory, processes, cpu', or what is missing."""
    probe = Cgroups(Limits(), f"gfsub-probe-{os.getpid()}")
    try:
        capped = ", ".join(probe.capped)
        version = "v2" if _cgroup_v2() else "v1"
        missing = [name for name in ("memory", "processes", "cpu") if name not in capped]
        if not missing:
            return f"cgroup {version}: {capped}"
        fallback = "memory by rlimit" if "memory" in missing and shutil.which("prlimit") else ""
        return (f"cgroup {version}: {capped or 'none'}; not capped: {', '.join(missing)}"
                + (f" ({fallback})" if fallback else ""))
    finally:
        probe.kill_all()
