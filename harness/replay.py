"""`gfsub replay`: put main.py back into a recorded episode and see whether what went wrong there happens again.

The chosen side's recorded observations are fed to main.py in order, in the chosen runtime's own process (the
check --runtime machinery, in its sandbox), with Kaggle's timing rules replayed step by step: 0.5 s per call,
the 60 s overage pool, step 1 including the load. Each step's action is compared with the one recorded. The
verdict is one of: reproduced (a step raised, ran the pool dry, or killed the agent), differs (main.py now plays
other actions from step N on), not reproduced (every step played, every recorded action matched or not).
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.errors import RunDirectoryError
from common.files import write_atomic
from common.kaggle import ACT_TIMEOUT, OVERAGE_POOL
from harness.episode import SIDES, Episode, normalize
from harness.isolation import describe
from harness.wanted import compact

REPRODUCED, DIFFERS, NOT_REPRODUCED = "reproduced", "differs", "not reproduced"
REPLAY_REPORT = "report.json"
REPLAY_SETTINGS = "replay.json"


@dataclass
class ReplayStep:
    step: int
    recorded: "list | None"  # the episode's action (None: the episode's call forfeited)
    played: "list | None"  # main.py's action now (None: it failed)
    seconds: float

    @property
    def matched(self) -> bool:
        return self.recorded is not None and self.played == self.recorded


@dataclass
class ReplayReport:
    episode: str
    main_py: str
    side: int
    runtime: str  # "kaggle-2020 (Python 3.7.17, numpy 1.18.5, ...)"
    isolation: str
    verdict: str  # reproduced | differs | not reproduced
    sentence: str  # the verdict spelled out, as printed
    episode_statuses: str  # "left ERROR, right DONE"
    recorded_steps: int  # calls the episode holds for this side
    steps: list = field(default_factory=list)  # ReplayStep
    failed_step: "int | None" = None
    first_difference: "int | None" = None
    traceback: str = ""
    overage_left: float = OVERAGE_POOL
    stderr_step: "int | None" = None  # the first step at which main.py wrote to stderr (a gfsub main.py's fallback)
    stderr: str = ""  # what it wrote then
    wanted: "dict | None" = None  # what main.py wanted per step (harness.wanted.compact)

    @property
    def matched(self) -> int:
        return sum(step.matched for step in self.steps)

    @property
    def compared(self) -> int:
        return sum(step.recorded is not None and step.played is not None for step in self.steps)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["steps"] = [[s.step, s.recorded, s.played, round(s.seconds, 6)] for s in self.steps]
        return {"kind": "replay", **data, "matched": self.matched, "compared": self.compared}

    @classmethod
    def from_dict(cls, data: dict) -> "ReplayReport":
        names = set(cls.__dataclass_fields__)
        report = cls(**{k: v for k, v in data.items() if k in names and k != "steps"})
        report.steps = [ReplayStep(*row) for row in data.get("steps", [])]
        return report


def default_run_dir(episode: Path, main_py: Path, side: int, runtime: str) -> Path:
    digest = hashlib.sha256()
    for part in (episode.read_bytes(), main_py.read_bytes(), f"{side} {runtime}".encode()):
        digest.update(hashlib.sha256(part).digest())
    return Path("runs") / f"replay-{digest.hexdigest()[:12]}"


def prepare_run_dir(run_dir: Path) -> None:
    """Create the replay's folder; a folder of a check or league run is refused."""
    from harness.rundir import RESULTS

    if (run_dir / RESULTS).exists():
        raise RunDirectoryError(run_dir, "holds a check or league run", "pass another --run-dir for the replay")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RunDirectoryError(run_dir, "is a file, not a folder", "pass another --run-dir") from None
    except OSError as exc:
        raise RunDirectoryError(run_dir, f"cannot be created or written ({exc.strerror})",
                                "pass a --run-dir in a folder you can write") from None


def replay(episode: Episode, side: int, main_py: Path, runtime, sandbox: "dict | None",
           on_step=lambda played, total: None) -> ReplayReport:
    """Feed `side`'s observations to main.py hosted in `runtime`, as Kaggle would have, and judge."""
    from runtimes.hosted import AgentProcessError, RuntimeAgent
    from runtimes.sandbox import Limits

    turns = episode.turns(side)
    configuration = {**episode.configuration}
    act_timeout = float(configuration.get("actTimeout", ACT_TIMEOUT))
    report = ReplayReport(str(episode.path), str(main_py), side, f"{runtime.name} ({runtime.describe()})",
                          describe(sandbox), "", "", episode.statuses(), len(turns))
    pool, failure = OVERAGE_POOL, ""
    agent = RuntimeAgent(runtime, main_py, Limits.from_dict(sandbox) if sandbox else None)
    with agent:
        for turn in turns:
            observation = {**turn.observation, "remainingOverageTime": pool}
            start = time.perf_counter()
            played = None
            try:
                played = normalize(agent(observation, configuration))
            except AgentProcessError:
                failure = failure_of(agent.reason, turn.step)
            seconds = time.perf_counter() - start
            report.steps.append(ReplayStep(turn.step, turn.recorded, played, seconds))
            if agent.last_stderr.strip() and report.stderr_step is None:
                report.stderr_step, report.stderr = turn.step, agent.last_stderr[-3000:]
            if not failure and seconds - act_timeout > pool:
                failure = f"overage pool empty at step {turn.step:,} (it took {seconds:.2f} s with {pool:.2f} s left)"
            elif not failure and not valid(played, observation):
                failure = f"step {turn.step:,} played an invalid action (INVALID)"
            pool = max(0.0, pool - max(0.0, seconds - act_timeout))
            on_step(len(report.steps), len(turns))
            if failure:
                report.failed_step, report.traceback = turn.step, agent.error
                break
    report.overage_left = pool
    report.wanted = compact(agent.values)
    report.first_difference = next((s.step for s in report.steps if s.recorded is not None and s.played is not None
                                    and s.played != s.recorded), None)
    report.verdict, report.sentence = judge(report, episode, failure)
    if report.stderr_step is not None and not report.traceback:
        first = report.stderr.strip().splitlines()[0][:200]
        report.sentence += f"; main.py wrote to stderr at step {report.stderr_step:,}: {first}"
    return report


def failure_of(reason: str, step: int) -> str:
    """'raised KeyError: 'x' at step 12' -> "step 12 raised KeyError: 'x' (traceback in the report)"."""
    what = reason
    for tail in (f" at step {step}", " at import"):
        if what.endswith(tail):
            what = what[: -len(tail)]
    where = f"step {step:,}" + (" (the load)" if reason.endswith(" at import") else "")
    note = " (traceback in the report)" if what.startswith("raised ") else ""
    return f"{where} {what}{note}"


def valid(action: "list | None", observation: dict) -> bool:
    """An action gfootball takes: one of the 19 actions per controlled player."""
    controlled = observation.get("controlled_players", 1)
    return action is not None and len(action) == controlled and all(0 <= a < 19 for a in action)


def judge(report: ReplayReport, episode: Episode, failure: str) -> tuple:
    """(verdict, the sentence printed and stored)."""
    agreed = f"{report.matched:,} of {report.compared:,} recorded actions match"
    if failure:
        before = (f"; actions differed from step {report.first_difference:,} on"
                  if report.first_difference else "")
        return REPRODUCED, f"reproduced: {failure}{before}"
    if report.first_difference is not None:
        return DIFFERS, (f"differs: main.py now plays different actions from the episode from step "
                         f"{report.first_difference:,} on ({agreed}): it is a different build, or it is not "
                         "deterministic")
    played = f"main.py played all {len(report.steps):,} steps, and {agreed}"
    forfeit = episode.forfeit_step(report.side)
    lost = (f"; the episode's {SIDES[report.side]} side ended {episode.status(report.side)} at step {forfeit:,}, "
            "which did not happen here" if forfeit else "")
    return NOT_REPRODUCED, (f"not reproduced: {played}. main.py's code path was clean on these observations; what "
                            f"else differed: the runtime (now {report.runtime}, {report.isolation}) and the "
                            f"episode's own agent statuses ({report.episode_statuses}){lost}")


def write_report(run_dir: Path, report: ReplayReport, settings: dict) -> Path:
    write_atomic(run_dir / REPLAY_SETTINGS, json.dumps(settings, indent=2))
    path = run_dir / REPLAY_REPORT
    write_atomic(path, json.dumps(report.to_dict()))
    return path


def read_report(run_dir: Path) -> ReplayReport:
    try:
        return ReplayReport.from_dict(json.loads((run_dir / REPLAY_REPORT).read_text()))
    except (OSError, ValueError, TypeError):
        raise RunDirectoryError(run_dir, f"holds no readable replay {REPLAY_REPORT}",
                                "replay the episode again with `gfsub replay`") from None
