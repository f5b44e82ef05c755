"""`gfsub check`: would this main.py forfeit on Kaggle, how close is it to the time limits, how does it play?

Matches run in parallel, each in its own process (a crash, hang or leak stays there; a hung match is killed
at a wall-clock bound). Each finished match is appended to results.jsonl at once, so an interrupted run
keeps its matches and `--resume` plays only the missing ones. report.json holds every figure.
"""

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from builder.errors import MissingFileError, OpponentError
from builder.files import sha256_of
from builder.options import check_range
from builder.runtimes import get_spec
from harness.match import BUILTIN_OPPONENTS
from harness.pools import LocalPool, play_and_record
from harness.progress import Watcher
from harness.results import MatchResult, MatchSpec
from harness.rundir import open_run_dir, write_report
from harness.stats import wilson_interval
from harness.timing import ACT_TIMEOUT, FULL_MATCH_STEPS, OVERAGE_POOL, step_timing

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


def run_check(config: CheckConfig, run_dir: Path, resume: bool = False, watcher: "Watcher | None" = None) -> dict:
    """Play the missing matches, append each to results.jsonl as it finishes; -> the report.
    On Ctrl-C or SIGTERM: kill the running matches, keep the finished ones, write an INTERRUPTED report, raise
    Interrupted (`--resume` continues the run)."""
    done = open_run_dir(run_dir, asdict(config), resume, "check")
    finished = {result.index for result in done}
    todo = [spec for spec in match_specs(config, run_dir) if spec.index not in finished]
    pool = LocalPool(jobs=config.jobs, match_timeout=config.match_timeout, threads=config.threads_per_match)
    try:
        play_and_record(pool, todo, run_dir, done, watcher)
    except KeyboardInterrupt:
        report = build_report(config, done, interrupted=True)
        write_report(run_dir, report)
        raise Interrupted(report, run_dir) from None
    report = build_report(config, done)
    write_report(run_dir, report)
    return report


def coverage(config: CheckConfig, results: list) -> dict:
    """What the finished matches covered, and what a release-grade check (the package gate) still lacks."""
    sides = sorted({result.spec.side for result in results})
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


def build_report(config: CheckConfig, results: list[MatchResult], interrupted: bool = False) -> dict:
    results = sorted(results, key=lambda r: r.index)
    matches, reasons = [], []
    for result in results:
        timing = step_timing(result.durations, config.slowdown)
        outcome, forfeit = result.outcome()
        matches.append({
            "index": result.index, "side": result.spec.side, "status": result.status,
            "opponent_status": result.opponent_status, "outcome": outcome, "forfeit": forfeit,
            "score": list(result.score), "timing": timing.to_dict(), "stderr": result.stderr,
            "episode": result.episode, "replay": result.replay, "replay_note": result.replay_note,
            "debug_info": result.debug_info, "runtime_overhead_p50": result.runtime_overhead_p50,
        })
        if forfeit == "candidate":
            reasons.append(f"match {result.index} ({result.spec.side}): {result.status}")
        elif timing.projected_overage >= OVERAGE_POOL:
            reasons.append(f"match {result.index}: at {config.slowdown:g}x slower, a full match would use "
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

    found = next((r.runtime_versions for r in results if r.runtime_versions), "")
    return found or (current_runtime().describe() if config.runtime == "current" else "")


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
        raise OpponentError(None, f"--opponent {opponent!r} is neither one of {', '.join(BUILTIN_OPPONENTS)} nor "
                            "a file", "pass engine, do_nothing, run_right, self, or the path of another main.py")
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
