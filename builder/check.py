"""`gfsub check`: would this main.py forfeit on Kaggle, how close is it to the time limits, how does it play?

Matches run in parallel, each in its own process (a crash, hang or leak stays there; a hung match is killed
at a wall-clock bound). Each finished match is appended to results.jsonl at once, so an interrupted run
keeps its matches and `--resume` plays only the missing ones. report.json holds every figure.
"""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from builder.errors import GfsubError, MissingFileError
from builder.load import sha256_of
from builder.match import BUILTIN_OPPONENTS, FORFEITS, MatchSpec
from builder.options import check_range
from builder.runtimes import get_spec
from builder.timing import ACT_TIMEOUT, FULL_MATCH_STEPS, OVERAGE_POOL, step_timing

RESULTS = "results.jsonl"
RUN_CONFIG = "run.json"
REPORT = "report.json"
# What the candidate can do that Kaggle scores as a lost match (HUNG and CRASHED: killed, or the match process died).
CANDIDATE_FORFEITS = FORFEITS + ("HUNG", "CRASHED")
RELEASE_MIN_MATCHES = 2  # one per side


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped a run; `.report` is the INTERRUPTED report written for it."""

    def __init__(self, report: dict, run_dir: Path) -> None:
        super().__init__("interrupted")
        self.report = report
        self.run_dir = run_dir


@dataclass
class CheckConfig:
    main_py: str
    main_py_sha256: str
    matches: int
    steps: int
    opponent: str
    seed: int
    slowdown: float
    match_timeout: float
    jobs: int
    replay: bool = True
    runtime: str = "current"

    @property
    def threads_per_match(self) -> int:
        """Matches share the cores: each gets cores // jobs threads, so timings are not inflated by contention."""
        return max(1, (os.cpu_count() or 1) // max(1, self.jobs))


def default_match_timeout(steps: int) -> float:
    """The longest a legal match can take (every step at the limit, the whole pool) plus engine time."""
    return steps * (ACT_TIMEOUT + 0.05) + OVERAGE_POOL + 120.0


def match_specs(config: CheckConfig, run_dir: Path) -> list:
    """The candidate alternates sides: left in even matches, right in odd ones."""
    return [MatchSpec(index=i, candidate=config.main_py, opponent=config.opponent,
                      side="left" if i % 2 == 0 else "right", steps=config.steps,
                      seed=config.seed + i, run_dir=str(run_dir), replay=config.replay, runtime=config.runtime)
            for i in range(config.matches)]


def prepare_run_dir(run_dir: Path, config: CheckConfig, resume: bool) -> list:
    """Create or reopen the run directory; -> results of matches already finished."""
    stored = run_dir / RUN_CONFIG
    if resume and stored.exists():
        previous = json.loads(stored.read_text())
        if previous != asdict(config):
            changed = sorted(k for k in previous if previous[k] != asdict(config).get(k))
            raise GfsubError(run_dir, f"--resume with different settings ({', '.join(changed)})",
                             "resume with the same main.py and options, or use a new --run-dir")
        return read_results(run_dir)
    if (run_dir / RESULTS).exists() and not resume:
        raise GfsubError(run_dir, "already holds a check run", "pass --resume to continue it, or another --run-dir")
    run_dir.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(asdict(config), indent=2))
    return []


def read_results(run_dir: Path) -> list:
    """Every complete line of results.jsonl (a line cut by an interruption is ignored)."""
    path = run_dir / RESULTS
    results = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                results.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return results


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


class MatchProcesses:
    """The match processes running now (each the leader of its own process group), so that an interruption can
    kill them all, and none starts after it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = set()
        self.stopping = False

    def start(self, command: list, environment: dict) -> "subprocess.Popen | None":
        with self._lock:
            if self.stopping:
                return None
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True, env=environment)
            self._running.add(process)
            return process

    def done(self, process: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(process)

    def stop_all(self) -> None:
        with self._lock:
            self.stopping = True
            for process in self._running:
                _kill_group(process)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the match, its engine and any agent process it started
    except ProcessLookupError:
        pass


def run_match(spec: MatchSpec, timeout: float, threads: int, processes: "MatchProcesses | None" = None
              ) -> "dict | None":
    """Play one match in a subprocess limited to `threads`; kill its process group at the wall-clock bound.
    -> the result, or None if the run was interrupted before or while it played."""
    processes = processes or MatchProcesses()
    command = [sys.executable, "-m", "builder.match", json.dumps(asdict(spec))]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **dict.fromkeys(THREAD_VARIABLES, str(threads))}
    start = time.monotonic()
    process = processes.start(command, environment)
    if process is None:
        return None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.communicate()
        return _unfinished(spec, "HUNG", f"killed after {timeout:.0f} s of wall time: the agent or the engine hung")
    finally:
        processes.done(process)
    if processes.stopping:
        return None
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        return _unfinished(spec, "CRASHED", err[-4000:])
    return {**json.loads(lines[-1]), "wall": time.monotonic() - start}


def _unfinished(spec: MatchSpec, status: str, stderr: str) -> dict:
    """The result line of a match whose process did not report one."""
    return {**asdict(spec), "status": status, "durations": [], "score": [0, 0], "stderr": stderr, "episode": None}


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


def run_check(config: CheckConfig, run_dir: Path, resume: bool = False, on_result=None) -> dict:
    """Play the missing matches, append each to results.jsonl as it finishes; -> the report.
    On Ctrl-C or SIGTERM: kill the running matches, keep the finished ones, write an INTERRUPTED report, raise
    Interrupted (`--resume` continues the run)."""
    done = prepare_run_dir(run_dir, config, resume)
    finished = {result["index"] for result in done}
    todo = [spec for spec in match_specs(config, run_dir) if spec.index not in finished]
    processes = MatchProcesses()
    pool = ThreadPoolExecutor(max_workers=max(1, config.jobs))
    try:
        with sigterm_as_interrupt(), (run_dir / RESULTS).open("a") as results_file:
            futures = [pool.submit(run_match, spec, config.match_timeout, config.threads_per_match, processes)
                       for spec in todo]
            for future in as_completed(futures):
                result = future.result()
                if result is None:
                    continue
                results_file.write(json.dumps(result) + "\n")
                results_file.flush()
                done.append(result)
                if on_result is not None:
                    on_result(result)
    except KeyboardInterrupt:
        processes.stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        report = build_report(config, sorted(done, key=lambda r: r["index"]), interrupted=True)
        (run_dir / REPORT).write_text(json.dumps(report, indent=2))
        raise Interrupted(report, run_dir) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    report = build_report(config, sorted(done, key=lambda r: r["index"]))
    (run_dir / REPORT).write_text(json.dumps(report, indent=2))
    return report


def match_outcome(result: dict) -> tuple:
    """(win | draw | loss, who forfeited: candidate | opponent | None). A forfeit loses the match, as on Kaggle."""
    if result["status"] in CANDIDATE_FORFEITS:
        return "loss", "candidate"
    if result.get("opponent_status") in FORFEITS:
        return "win", "opponent"
    own, opponent = result["score"]
    return ("win" if own > opponent else "loss" if own < opponent else "draw"), None


def coverage(config: CheckConfig, results: list) -> dict:
    """What the finished matches covered, and what a release-grade check (the package gate) still lacks."""
    sides = sorted({result["side"] for result in results})
    lacks = []
    if sides != ["left", "right"]:
        lacks.append(f"matches on both sides (played: {', '.join(sides) or 'none'})")
    if config.steps < FULL_MATCH_STEPS:
        lacks.append(f"full-length matches ({FULL_MATCH_STEPS} steps, these had {config.steps})")
    if config.opponent != "engine":
        lacks.append(f"the engine AI as opponent (played {Path(config.opponent).name})")
    if len(results) < RELEASE_MIN_MATCHES:
        lacks.append(f"at least {RELEASE_MIN_MATCHES} matches (finished {len(results)})")
    return {"matches": len(results), "sides": sides, "steps": config.steps, "full_match_steps": FULL_MATCH_STEPS,
            "opponent": config.opponent, "runtime": config.runtime, "release_grade": not lacks, "lacks": lacks,
            "release_command": release_command(config)}


def release_command(config: CheckConfig) -> str:
    """The check that `gfsub package` accepts, for this main.py."""
    runtime = f" --runtime {config.runtime}" if config.runtime != "current" else ""
    return (f"gfsub check {config.main_py} --matches {max(RELEASE_MIN_MATCHES, config.matches)} "
            f"--steps {FULL_MATCH_STEPS} --opponent engine{runtime}")


def build_report(config: CheckConfig, results: list, interrupted: bool = False) -> dict:
    matches, reasons = [], []
    for result in results:
        timing = step_timing(result["durations"], config.slowdown)
        own, opponent = result["score"]
        outcome, forfeit = match_outcome(result)
        matches.append({
            "index": result["index"], "side": result["side"], "status": result["status"],
            "opponent_status": result.get("opponent_status", ""), "outcome": outcome, "forfeit": forfeit,
            "score": [own, opponent], "timing": timing.to_dict(), "stderr": result.get("stderr", ""),
            "episode": result.get("episode"), "replay": result.get("replay"),
            "replay_note": result.get("replay_note", ""), "debug_info": result.get("debug_info", ""),
            "runtime_overhead_p50": result.get("runtime_overhead_p50"),
        })
        if forfeit == "candidate":
            reasons.append(f"match {result['index']} ({result['side']}): {result['status']}")
        elif timing.projected_overage >= OVERAGE_POOL:
            reasons.append(f"match {result['index']}: at {config.slowdown:g}x slower, a full match would use "
                           f"{timing.projected_overage:.1f} s of the {OVERAGE_POOL:.0f} s overage pool")
    if interrupted:
        reasons.insert(0, f"interrupted after {len(results)} of {config.matches} matches: continue with --resume")
    elif len(results) < config.matches:
        reasons.append(f"only {len(results)} of {config.matches} matches finished")
    wins = sum(1 for m in matches if m["outcome"] == "win")
    losses = sum(1 for m in matches if m["outcome"] == "loss")
    return {
        "config": asdict(config),
        "main_py_sha256": config.main_py_sha256,
        "verdict": "INTERRUPTED" if interrupted else "FAIL" if reasons else "PASS",
        "reasons": reasons,
        "coverage": coverage(config, results),
        "forfeits": {"candidate": [f"match {m['index']}: {m['status']}" for m in matches
                                   if m["forfeit"] == "candidate"],
                     "opponent": [f"match {m['index']}: {m['opponent_status']}" for m in matches
                                  if m["forfeit"] == "opponent"]},
        "wins": wins, "draws": len(matches) - wins - losses, "losses": losses,
        "goal_difference": sum(m["score"][0] - m["score"][1] for m in matches),
        "win_rate": wins / len(matches) if matches else 0.0,
        "win_rate_95ci": wilson_interval(wins, len(matches)),
        "runtime": {"name": config.runtime, "versions": _runtime_versions(config, results)},
        "matches": matches,
    }


def _runtime_versions(config: CheckConfig, results: list) -> str:
    from builder.runtimes import current_runtime

    found = next((r["runtime_versions"] for r in results if r.get("runtime_versions")), "")
    return found or (current_runtime().describe() if config.runtime == "current" else "")


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> list:
    """95 % Wilson score interval for a win rate."""
    if trials == 0:
        return [0.0, 1.0]
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def check_options(matches: int, steps: int, seed: int, slowdown: float, match_timeout: "float | None",
                  jobs: "int | None") -> None:
    """Every numeric option of `gfsub check`, up front."""
    check_range("--matches", matches, 1)
    check_range("--steps", steps, 1, FULL_MATCH_STEPS)
    check_range("--seed", seed, 0)
    check_range("--slowdown", slowdown, 1)
    if match_timeout is not None:
        check_range("--match-timeout", match_timeout, 0, exclusive_low=True)
    if jobs is not None:
        check_range("--jobs", jobs, 1)


def make_config(main_py: Path, matches: int, steps: int, opponent: str, seed: int, slowdown: float,
                match_timeout: float | None, jobs: int | None = None, replay: bool = True,
                runtime: str = "current") -> CheckConfig:
    check_options(matches, steps, seed, slowdown, match_timeout, jobs)
    if opponent not in BUILTIN_OPPONENTS and not Path(opponent).is_file():
        raise GfsubError(None, f"--opponent {opponent!r} is neither one of {', '.join(BUILTIN_OPPONENTS)} nor a file",
                         "pass engine, do_nothing, run_right, self, or the path of another main.py")
    if opponent not in BUILTIN_OPPONENTS:
        opponent = str(Path(opponent).resolve())
    if not main_py.is_file():
        raise MissingFileError(main_py, "no such main.py", "build one with `gfsub build`")
    get_spec(runtime)  # an unknown name fails here, before anything is written
    return CheckConfig(
        main_py=str(main_py.resolve()), main_py_sha256=sha256_of(main_py), matches=matches, steps=steps,
        opponent=opponent, seed=seed, slowdown=slowdown,
        match_timeout=match_timeout if match_timeout is not None else default_match_timeout(steps),
        jobs=jobs or os.cpu_count() or 1, replay=replay, runtime=runtime)
