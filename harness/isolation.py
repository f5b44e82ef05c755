"""How a check or a league isolates file agents: a sandbox each (runtimes/sandbox.py) with these limits, by default,
and as many matches at a time as the machine's memory holds at those limits."""

import os
from pathlib import Path

from common.errors import OptionValueError, SandboxUnavailableError
from runtimes.sandbox import Limits, enforcement, gigabytes, parse_size, unavailable_reason

ENGINE_MEMORY = 512 * 1024 ** 2  # a match process with its engine, besides its agents
UNSANDBOXED = "unsandboxed"


def sandbox_limits(no_sandbox: bool, memory: "str | int", cpus: float) -> "dict | None":
    """The limits every file agent plays under, as run.json keeps them, or None with --no-sandbox. Where no sandbox
    can be made, one line that says why and what --no-sandbox means."""
    if no_sandbox:
        return None
    try:
        size = parse_size(memory) if isinstance(memory, str) else int(memory)
    except (ValueError, IndexError):
        raise OptionValueError(None, f"--agent-memory {memory!r} is not a size", "use e.g. 4G or 512M") from None
    if not 0 < cpus <= (os.cpu_count() or 1):
        raise OptionValueError(None, f"--agent-cpus {cpus:g} is out of range",
                               f"use a value > 0 and <= {os.cpu_count() or 1} (this machine's cores)")
    reason = unavailable_reason()
    if reason:
        raise SandboxUnavailableError(None, f"no sandbox for other people's agents can be made here: {reason}",
                                      "install it, or pass --no-sandbox to play them unsandboxed, with your rights")
    return {**Limits(memory=size, cpus=float(cpus)).to_dict(), "enforced": enforcement()}


def describe(limits: "dict | None") -> str:
    """`sandboxed: memory 4 GB, 1 CPU, 256 processes/threads, scratch 512 MB (enforced by cgroup v1: ...)`, or
    `unsandboxed`."""
    if not limits:
        return UNSANDBOXED
    enforced = f" (enforced by {limits['enforced']})" if limits.get("enforced") else ""
    return f"sandboxed: {Limits.from_dict(limits).describe()}{enforced}"


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, or its cgroup's limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for line in Path("/proc/self/cgroup").read_text().splitlines() if Path("/proc/self/cgroup").exists() else []:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            limit = Path("/sys/fs/cgroup/memory") / path.lstrip("/") / "memory.limit_in_bytes"
            try:
                total = min(total, int(limit.read_text()))
            except (OSError, ValueError):
                pass
    return total


def match_memory(agents: int, limits: "dict | None") -> int:
    """Bytes a match may use at most: its sandboxed agents' limits and the engine (0 when unsandboxed)."""
    return agents * limits["memory"] + ENGINE_MEMORY if limits and agents else 0


def plan_jobs(jobs: int, agents_per_match: int, limits: "dict | None") -> tuple:
    """(jobs the machine holds at these limits, a line saying so when fewer than asked, or '')."""
    if not limits or agents_per_match == 0:
        return jobs, ""
    need = match_memory(agents_per_match, limits)
    have = machine_memory()
    fit = have // need
    if fit < 1:
        raise OptionValueError(None, f"--agent-memory {gigabytes(limits['memory'])} x {agents_per_match} agent(s) of "
                               f"a match is more than this machine's {gigabytes(have)}",
                               "pass a smaller --agent-memory")
    if jobs <= fit:
        return jobs, ""
    return fit, (f"--jobs {jobs}: {jobs} matches x {agents_per_match} agent(s) x {gigabytes(limits['memory'])} is more "
                 f"than this machine's {gigabytes(have)}; playing {fit} at a time")
