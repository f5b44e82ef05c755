"""`gfsub check`: would this main.py forfeit on Kaggle, how close is it to the time limits, how does it play?

Matches run in parallel, each in its own process (a crash, hang or leak stays there; a hung match is killed
at a wall-clock bound). Each finished match is appended to results.jsonl at once, so an interrupted run
keeps its matches and `--resume` plays only the missing ones. report.json holds every figure.
"""

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from common.errors import MissingFileError, OpponentError
from common.files import sha256_of
from common.kaggle import ACT_TIMEOUT, FULL_MATCH_STEPS, OVERAGE_POOL
from common.options import validate_range
from harness.isolation import UNSANDBOXED, describe, plan_jobs, sandbox_limits
from harness.match import BUILTIN_OPPONENTS
from harness.pools import LocalPool, play_run
from harness.progress import Watcher
from harness.results import MatchResult, MatchSpec
from harness.stats import wilson_interval
from harness.timing import StepTiming, step_timing
from runtimes.registry import get_spec

RELEASE_MIN_MATCHES = 2  # one per side


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
    video: bool = False
    runtime: str = "current"
    sandbox: "dict | None" = None  # the limits every file agent plays under (Limits); None: unsandboxed

    @property
    def threads_per_match(self) -> int:
        """Matches share the cores: each gets cores // jobs threads, so timings are not inflated by contention."""
        return max(1, (os.cpu_count() or 1) // max(1, self.jobs))


def default_run_dir(config: CheckConfig) -> Path:
    """runs/<main.py sha256>-<settings hash>: a check with other settings runs in a folder of its own, and
    `--resume` finds the one with the same settings."""
    settings = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()
    return Path("runs") / f"{config.main_py_sha256[:12]}-{settings[:8]}"


def default_match_timeout(steps: int) -> float:
    """The longest a legal match can take (every step at the limit, the whole pool) plus engine time."""
    return steps * (ACT_TIMEOUT + 0.05) + OVERAGE_POOL + 120.0


def match_specs(config: CheckConfig, run_dir: Path) -> list:
    """The candidate alternates sides: left in even matches, right in odd ones."""
    return [MatchSpec(index=i, candidate=config.main_py, opponent=config.opponent,
                      side="left" if i % 2 == 0 else "right", steps=config.steps,
                      seed=config.seed + i, run_dir=str(run_dir), video=config.video, runtime=config.runtime,
                      sandbox=config.sandbox)
            for i in range(config.matches)]


def run_check(config: CheckConfig, run_dir: Path, resume: bool = False, watcher: "Watcher | None" = None
              ) -> "CheckReport":
    """Play the missing matches, append each to results.jsonl as it finishes; -> the report (also report.json).
    On Ctrl-C or SIGTERM: the finished matches are kept and RunInterrupted carries an INTERRUPTED report."""
    pool = LocalPool(jobs=config.jobs, match_timeout=config.match_timeout, threads=config.threads_per_match)
    return play_run(pool, match_specs(config, run_dir), run_dir, kind="check", settings=asdict(config),
                    resume=resume, watcher=watcher,
                    make_report=lambda results, interrupted: build_report(config, results, interrupted))


@dataclass
class Coverage:
    """What the finished matches covered, and what a release-grade check (the package gate) still lacks."""

    matches: int
    sides: list
    steps: int
    full_match_steps: int
    opponent: str
    runtime: str
    release_grade: bool
    lacks: list
    release_command: str
    isolation: str = UNSANDBOXED  # "sandboxed: memory 4 GB, 1 CPU, ..." or "unsandboxed"

    def sentence(self) -> str:
        """e.g. `2 match(es), left and right, 3002 of 3002 steps, vs engine, runtime current, sandboxed: ...`."""
        return (f"{self.matches} match(es), {' and '.join(self.sides) or 'no side'}, {self.steps} of "
                f"{self.full_match_steps} steps, vs {Path(self.opponent).name}, runtime {self.runtime}, "
                f"{self.isolation}")

    def grade(self) -> str:
        return "release grade" if self.release_grade else "not release grade: lacks " + "; ".join(self.lacks)


def coverage(config: CheckConfig, results: list[MatchResult]) -> Coverage:
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
    return Coverage(len(results), sides, config.steps, FULL_MATCH_STEPS, config.opponent, config.runtime,
                    not lacks, lacks, release_command(config.main_py, config.runtime, config.matches),
                    describe(config.sandbox))


def release_command(main_py: str, runtime: str = "current", matches: int = RELEASE_MIN_MATCHES) -> str:
    """The check that `gfsub package` accepts, for this main.py."""
    where = f" --runtime {runtime}" if runtime != "current" else ""
    return (f"gfsub check {main_py} --matches {max(RELEASE_MIN_MATCHES, matches)} "
            f"--steps {FULL_MATCH_STEPS} --opponent engine{where}")


@dataclass
class MatchReport:
    """One match as the check report shows it, from the candidate's side."""

    index: int
    side: str
    status: str
    opponent_status: str
    outcome: str  # win | draw | loss
    forfeit: "str | None"  # candidate | opponent | None
    score: list
    timing: StepTiming
    stderr: str
    episode: "str | None"
    video: "str | None"
    video_note: str
    debug_info: str
    runtime_overhead_p50: "float | None"
    reason: str = ""  # why the candidate forfeited, in one line ("memory limit 4 GB exceeded")
    opponent_reason: str = ""


@dataclass
class Forfeits:
    """The matches lost or won by a forfeit, each as `match N: STATUS`."""

    candidate: list = field(default_factory=list)  # forfeited by main.py: counted as losses
    opponent: list = field(default_factory=list)  # forfeited by the opponent: counted as wins


@dataclass
class RuntimeInfo:
    """Where the candidate ran: the runtime's name and its Python / numpy / TensorFlow versions."""

    name: str
    versions: str

    def sentence(self) -> str:
        return f"{self.name} ({self.versions})"


@dataclass
class Record:
    """Wins, draws and losses of a set of matches, with the win rate and its 95 % Wilson interval."""

    wins: int
    draws: int
    losses: int
    goal_difference: int

    @property
    def played(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def win_rate(self) -> float:
        return self.wins / self.played if self.played else 0.0

    @property
    def win_rate_95ci(self) -> list:
        return wilson_interval(self.wins, self.played)

    def sentence(self) -> str:
        """W/D/L first: e.g. `1/0/1, goal difference -2, win rate 50% (95% CI 9%-91%)`."""
        low, high = self.win_rate_95ci
        return (f"{self.wins}/{self.draws}/{self.losses}, goal difference {self.goal_difference:+d}, win rate "
                f"{self.win_rate:.0%} (95% CI {low:.0%}-{high:.0%})")


@dataclass
class CheckReport:
    """Everything a check found (report.json is its to_dict(); read one back with from_dict)."""

    config: CheckConfig
    main_py_sha256: str
    verdict: str  # PASS | FAIL | INTERRUPTED
    reasons: list
    coverage: Coverage
    forfeits: Forfeits
    record: Record
    runtime: RuntimeInfo
    matches: list[MatchReport] = field(default_factory=list)

    def to_dict(self) -> dict:
        record = self.record
        return {**asdict(self), "win_rate": record.win_rate, "win_rate_95ci": record.win_rate_95ci}

    @classmethod
    def from_dict(cls, data: dict) -> "CheckReport":
        """A report.json read back (keys of other gfsub versions ignored; a missing part raises KeyError)."""
        matches = [_typed(MatchReport, {**m, "timing": _typed(StepTiming, m["timing"])}) for m in data["matches"]]
        return cls(config=_typed(CheckConfig, data["config"]), main_py_sha256=data["main_py_sha256"],
                   verdict=data["verdict"], reasons=list(data["reasons"]), coverage=_typed(Coverage, data["coverage"]),
                   forfeits=_typed(Forfeits, data["forfeits"]), record=_typed(Record, data["record"]),
                   runtime=_typed(RuntimeInfo, data["runtime"]), matches=matches)


def _status(status: str, reason: str) -> str:
    """`ERROR (memory limit 4 GB exceeded)`, or the status alone."""
    return f"{status} ({reason})" if reason else status


def _typed(cls, data: dict):
    """A dataclass from a dict that may hold keys of other versions."""
    names = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in names})


def build_report(config: CheckConfig, results: list[MatchResult], interrupted: bool = False) -> CheckReport:
    results = sorted(results, key=lambda r: r.index)
    matches, reasons = [], []
    for result in results:
        timing = step_timing(result.durations, config.slowdown)
        outcome, forfeit = result.outcome()
        matches.append(MatchReport(
            result.index, result.spec.side, result.status, result.opponent_status, outcome, forfeit,
            list(result.score), timing, result.stderr, result.episode, result.video, result.video_note,
            result.debug_info, result.runtime_overhead_p50, result.forfeit_reason(candidate=True),
            result.forfeit_reason(candidate=False)))
        if forfeit == "candidate":
            reasons.append(f"match {result.index} ({result.spec.side}): {_status(result.status, matches[-1].reason)}")
        elif timing.projected_overage >= OVERAGE_POOL:
            reasons.append(f"match {result.index}: at {config.slowdown:g}x slower, a full match would use "
                           f"{timing.projected_overage:.1f} s of the {OVERAGE_POOL:.0f} s overage pool")
    if interrupted:
        reasons.insert(0, f"interrupted after {len(results)} of {config.matches} matches: continue with --resume")
    elif len(results) < config.matches:
        reasons.append(f"only {len(results)} of {config.matches} matches finished")
    wins = sum(1 for m in matches if m.outcome == "win")
    losses = sum(1 for m in matches if m.outcome == "loss")
    return CheckReport(
        config=config, main_py_sha256=config.main_py_sha256,
        verdict="INTERRUPTED" if interrupted else "FAIL" if reasons else "PASS", reasons=reasons,
        coverage=coverage(config, results),
        forfeits=Forfeits(candidate=[f"match {m.index}: {_status(m.status, m.reason)}" for m in matches
                                     if m.forfeit == "candidate"],
                          opponent=[f"match {m.index}: {_status(m.opponent_status, m.opponent_reason)}"
                                    for m in matches if m.forfeit == "opponent"]),
        record=Record(wins, len(matches) - wins - losses, losses, sum(m.score[0] - m.score[1] for m in matches)),
        runtime=RuntimeInfo(config.runtime, _runtime_versions(config, results)), matches=matches)


def _runtime_versions(config: CheckConfig, results: list) -> str:
    from runtimes.registry import current_runtime

    found = next((r.runtime_versions for r in results if r.runtime_versions), "")
    return found or (current_runtime().describe() if config.runtime == "current" else "")


def check_options(matches: int, steps: int, seed: int, slowdown: float, match_timeout: "float | None",
                  jobs: "int | None") -> None:
    """Every numeric option of `gfsub check`, up front."""
    validate_range("--matches", matches, 1)
    validate_range("--steps", steps, 1, FULL_MATCH_STEPS)
    validate_range("--seed", seed, 0)
    validate_range("--slowdown", slowdown, 1)
    if match_timeout is not None:
        validate_range("--match-timeout", match_timeout, 0, exclusive_low=True)
    if jobs is not None:
        validate_range("--jobs", jobs, 1)


def make_config(main_py: Path, *, matches: int = RELEASE_MIN_MATCHES, steps: int = FULL_MATCH_STEPS,
                opponent: str = "engine", seed: int = 0, slowdown: float = 2.0, match_timeout: float | None = None,
                jobs: int | None = None, video: bool = False, runtime: str = "current", no_sandbox: bool = False,
                agent_memory: "str | int" = "4G", agent_cpus: float = 1.0) -> CheckConfig:
    """The settings of a check, every option validated (one-line errors before anything is written). File agents
    (the candidate, and a main.py opponent) play in a sandbox each unless `no_sandbox`; --jobs is lowered to what
    the machine's memory holds at the agents' limit (plan_jobs)."""
    check_options(matches, steps, seed, slowdown, match_timeout, jobs)
    sandbox = sandbox_limits(no_sandbox, agent_memory, agent_cpus)
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
        jobs=plan_jobs(jobs or os.cpu_count() or 1, agents_per_match(opponent), sandbox)[0], video=video,
        runtime=runtime, sandbox=sandbox)


def agents_per_match(opponent: str) -> int:
    """File agents in a match of the check: the candidate, and the opponent when it is a main.py too."""
    return 1 if opponent in ("engine", "do_nothing", "run_right") else 2
