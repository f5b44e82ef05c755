"""Run mutations through the fork server (tests/fuzz/server.py), judge each, and sum them up in a table.

Every mutation must end in exit 0 with main.py written, or exit 2 with one line that names the mutated file and
nothing left at the output; never exit 3, a traceback, a signal, more than 60 s, or 2 GB of memory. A few of those
that load (`verify` per format) are then built by the real `gfsub build` CLI with `--verify-steps 5 --target
kaggle-2026` (an episode: `gfsub replay --side 0`), which verifies on the engine, and judged alike.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz.formats import FORMATS, Case, make_case, warm_up_jobs

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60.0  # no mutation may take longer, load-level or built in full
FULL_KILL = 300.0  # a full build over TIMEOUT is let run this long, to see how it ends
MEMORY_MB = 2048
SINGLE_THREADED = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
AGENT = "def agent(obs, config=None):\n    return [0]\n"  # the main.py a mutated episode is replayed with


@dataclass
class Outcome:
    case: Case
    status: int
    seconds: float
    peak_mb: float
    stderr: str
    stdout: str = ""
    timed_out: bool = False
    partial: bool = False
    full: bool = False  # the real CLI, verification included

    def problems(self) -> list:
        """What is wrong with this outcome ([] when it ended as it must)."""
        found = []
        if self.timed_out:
            found.append(f"hang ({self.seconds:.0f} s)")
        elif self.seconds > TIMEOUT:
            found.append(f"over {TIMEOUT:.0f} s ({self.seconds:.0f} s)")
        if "Traceback (most recent call last)" in self.stderr + self.stdout:
            found.append("traceback")
        if self.status not in (0, 2):
            found.append(f"exit {self.status}" if self.status >= 0 else f"killed by signal {-self.status}")
        if self.status == 2 and not self.one_line():
            found.append("not one line naming the input")
        if self.partial:
            found.append("output left behind" if self.status else "exit 0 without main.py")
        if self.peak_mb > MEMORY_MB:
            found.append(f"{self.peak_mb:.0f} MB")
        return found

    def one_line(self) -> bool:
        """One line, `error: `, naming one of the build's input files."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return len(lines) == 1 and lines[0].startswith("error: ") and self.names_input(lines[0])

    def names_input(self, line: str) -> bool:
        inputs = [self.case.job["model"], *self.case.job.get("options", {}).values()]
        return any(f"{name}:" in line for name in inputs)

    def report(self) -> str:
        line = self.stderr.strip().splitlines()[-1][:300] if self.stderr.strip() else ""
        return (f"{self.case.format} #{self.case.index} ({self.case.what}): {', '.join(self.problems())}; exit "
                f"{self.status}, {self.seconds:.1f} s, {self.peak_mb:.0f} MB; {line}")


class Server:
    """The fork server, warmed up on every seed, as a context manager."""

    def __init__(self, seeds: Path, folder: Path, formats: "list | None" = None) -> None:
        jobs = [job for job in warm_up_jobs(seeds, folder / "warm-up") if formats is None or job["format"] in formats]
        env = {**os.environ, **SINGLE_THREADED, "PYTHONPATH": str(ROOT), "COLUMNS": "400"}
        folder.mkdir(parents=True, exist_ok=True)
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.fuzz.server"], cwd=ROOT, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        ready = self._send(jobs)
        if not ready.get("ready"):
            raise RuntimeError(f"the fuzz server did not start: {ready}")
        self.baseline_mb = ready["baseline_mb"]

    def _send(self, message) -> dict:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        return {"server_ended": self.process.wait()}

    def run(self, case: Case) -> Outcome:
        answer = self._send({**case.job, "id": case.index, "timeout": TIMEOUT})
        if "status" not in answer:
            raise RuntimeError(f"the fuzz server stopped at {case.format} #{case.index}: {answer}")
        output = Path(case.job["output"])
        partial = output.parent.exists() if answer["status"] else not output.is_file()
        return Outcome(case, answer["status"], answer["seconds"], answer["peak_mb"], answer["stderr"],
                       answer["stdout"], answer["timed_out"], partial and case.job["kind"] == "build")

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()


def fuzz_format(name: str, seeds: Path, folder: Path, count: int, verify: int = 0, base: int = 0) -> list:
    """`count` mutations of format `name` at load level, then up to `verify` of those that loaded built in full;
    the folders of those that passed are removed."""
    outcomes, loaded = [], []
    with Server(seeds, folder, [name]) as server:
        for index in range(count):
            case = make_case(FORMATS[name], index, seeds, folder / f"{name}-{index:05d}", base)
            outcomes.append(server.run(case))
            if outcomes[-1].status == 0 and len(loaded) < verify:
                loaded.append(case)
    outcomes += [full_run(case) for case in loaded]
    failed = {outcome.case.input.parent for outcome in outcomes if outcome.problems()}
    for outcome in outcomes:
        if outcome.case.input.parent not in failed:
            shutil.rmtree(outcome.case.input.parent, ignore_errors=True)
    return outcomes


def full_run(case: Case) -> Outcome:
    """The mutated file through the real CLI: `gfsub build ... --verify-steps 5 --target kaggle-2026`, or
    `gfsub replay` of an episode with a main.py that plays action 0."""
    folder = case.input.parent
    output = folder / "full" / "main.py"
    if case.job["kind"] == "episode":
        (folder / "idle.py").write_text(AGENT)
        args = ["replay", str(case.input), str(folder / "idle.py"), "--side", "0", "--run-dir", str(folder / "full")]
    else:
        args = ["build", case.job["model"], "-o", str(output), "--verify-steps", "5", "--target", "kaggle-2026",
                *[part for key, value in case.job["options"].items() for part in (f"--{key.split('_')[0]}", value)]]
    status, seconds, peak_mb, stdout, stderr = _measured([sys.executable, "-m", "gfsub.cli", *args],
                                                         folder / "full-run")
    partial = (output.parent.exists() if status else not output.is_file()) if case.job["kind"] == "build" else False
    return Outcome(case, status, seconds, peak_mb, stderr, stdout, seconds > FULL_KILL, partial, full=True)


def _measured(command: list, folder: Path) -> tuple:
    """(exit status, seconds, peak MB of the gfsub process and the children it waited for, stdout, stderr) of a
    command, killed after FULL_KILL. The peak is taken by tests/fuzz/measure.py, so that it is the command's own,
    not the size of the process that started it."""
    env = {**os.environ, "COLUMNS": "400", "PYTHONPATH": str(ROOT)}
    folder.mkdir(parents=True, exist_ok=True)
    peak = folder / "peak-mb.txt"
    start = time.monotonic()
    with (folder / "stdout.txt").open("w") as out, (folder / "stderr.txt").open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "tests.fuzz.measure", str(peak), *command], cwd=ROOT,
                                   env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        code = process.wait(timeout=FULL_KILL)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # gfsub and what it started
        code = process.wait()
    text = [(folder / name).read_bytes().decode("utf-8", "replace") for name in ("stdout.txt", "stderr.txt")]
    peak_mb = float(peak.read_text()) if peak.is_file() else 0.0
    return (code, time.monotonic() - start, peak_mb, *text)


# ----- the table ----------------------------------------------------------------------------------------------
COLUMNS = ("format", "mutations", "exit 0", "exit 2", "not naming the input", "exit 3", "tracebacks", "hangs",
           "partial outputs", "other", "max s", "max MB", "verified builds")


@dataclass
class Row:
    format: str
    outcomes: list = field(default_factory=list)

    def cells(self) -> list:
        loads = [o for o in self.outcomes if not o.full]
        full = [o for o in self.outcomes if o.full]
        tests = (lambda o: o.status == 0, lambda o: o.status == 2,
                 lambda o: o.status == 2 and not o.names_input(o.stderr), lambda o: o.status == 3,
                 lambda o: "traceback" in o.problems(), lambda o: o.timed_out, lambda o: o.partial and o.status,
                 lambda o: o.status not in (0, 2, 3))
        counts = [sum(1 for o in loads if test(o)) for test in tests]
        failed = "".join(f"; #{o.case.index}: {', '.join(o.problems())}" for o in full if o.problems())
        verified = f"{sum(1 for o in full if not o.problems())} of {len(full)} ok, max " \
            f"{max(o.seconds for o in full):.0f} s{failed}" if full else "-"
        return [self.format, len(loads), *counts, f"{max((o.seconds for o in loads), default=0):.1f}",
                f"{max((o.peak_mb for o in loads), default=0):.0f}", verified]


def table(rows: list) -> str:
    """The summary as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(cell) for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines)
