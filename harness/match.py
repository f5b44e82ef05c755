"""One real match on the gfootball engine, run in its own process:
`python -m harness.match SPEC_JSON REPORT_FD`.

Under the sandbox (the default) every file agent is hosted in its own sandboxed agent process, in the
chosen runtime; unsandboxed, the candidate in `current` is given to kaggle-environments by path, exactly as a
submission is loaded. While the match plays, the number of steps
played is written to REPORT_FD twice a second (`progress N`); at the end, one `result {...}` line. The episode
JSON and, when asked, the engine's own video of the match are written to the run directory.
"""

import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from common.kaggle import BUILTIN_AGENTS, make_football
from harness.results import MatchResult, MatchSpec
from harness.wanted import compact, recorded_file_agent

BUILTIN_OPPONENTS = ("engine", *BUILTIN_AGENTS, "self")
PROGRESS_EVERY = 0.5  # seconds between progress lines


def agents_and_teams(spec: MatchSpec) -> tuple:
    """The two agent slots and (team_1, team_2). Against the engine its side has 0 controlled players,
    and that slot returns []: kaggle-environments' builtin_ai returns action 19, which gfootball rejects."""
    if spec.opponent == "engine":
        opponent, teams = "do_nothing", (1, 0) if spec.side == "left" else (0, 1)
    else:
        opponent = spec.candidate if spec.opponent == "self" else spec.opponent
        teams = (1, 1)
    agents = [spec.candidate, opponent] if spec.side == "left" else [opponent, spec.candidate]
    return agents, teams


def seed_engine(seed: int) -> None:
    """Make the engine's randomness follow `seed` (kaggle-environments does not expose it)."""
    import gfootball.env as football

    create = football.create_environment

    def create_seeded(*args, **kwargs):
        options = dict(kwargs.pop("other_config_options", None) or {})
        options.setdefault("game_engine_random_seed", seed)
        return create(*args, other_config_options=options, **kwargs)

    football.create_environment = create_seeded


def hosted_agent(runtime_name: str, agent_file: str, sandbox: "dict | None"):
    """A file agent living in its own process in `runtime_name`, in a sandbox of these limits if given (started
    now, loaded by its first call)."""
    from runtimes.hosted import RuntimeAgent
    from runtimes.registry import get_runtime, get_spec
    from runtimes.sandbox import Limits

    runtime = get_runtime(get_spec(runtime_name))
    if runtime is None:
        raise RuntimeError(f"runtime {runtime_name} is not created: run `gfsub runtime create {runtime_name}`")
    return RuntimeAgent(runtime, agent_file, Limits.from_dict(sandbox) if sandbox else None).start()


def host_agents(spec: MatchSpec, agents: list, me: int) -> tuple:
    """Replace file agents by hosted ones where the spec asks for it (every one, in a sandbox each, when the spec
    has one), and the others by the same file loaded here as kaggle-environments loads it, recording what it
    wanted; -> ({slot: RuntimeAgent}, {slot: per-step values of the agents loaded here})."""
    hosted, loaded_here = {}, {}
    for slot, agent in enumerate(agents):
        if agent in BUILTIN_AGENTS:
            continue
        if spec.sandbox or spec.isolated or (slot == me and spec.runtime != "current"):
            hosted[slot] = agents[slot] = hosted_agent(spec.runtime, agent, spec.sandbox)
        else:
            loaded_here[slot] = []
            agents[slot] = recorded_file_agent(agent, loaded_here[slot])
    return hosted, loaded_here


def wanted_of(slot: int, hosted: dict, loaded_here: dict) -> "dict | None":
    """The compact record of what the agent in `slot` wanted (None: not a gfsub main.py, or a built-in)."""
    per_step = hosted[slot].values if slot in hosted else loaded_here.get(slot, [])
    return compact(per_step)


class ProgressReporter:
    """Writes `progress N` (steps played) to the report pipe while the match runs, from a background thread."""

    def __init__(self, report, env) -> None:
        self._report, self._env = report, env
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_EVERY):
            send(self._report, f"progress {max(0, len(self._env.steps) - 1)}")

    def __enter__(self) -> "ProgressReporter":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def send(report, line: str) -> None:
    if report is not None:
        report.write(line + "\n")
        report.flush()


def play(spec: MatchSpec, report=None) -> MatchResult:
    seed_engine(spec.seed)
    agents, (team_1, team_2) = agents_and_teams(spec)
    me = 0 if spec.side == "left" else 1
    hosted, loaded_here = host_agents(spec, agents, me)
    run_dir = Path(spec.run_dir)
    with tempfile.TemporaryDirectory(prefix="gfsub-match-") as logdir:
        env = make_football(steps=spec.steps, logdir=logdir, team_1=team_1, team_2=team_2, video=spec.video,
                           scenario=spec.scenario)
        try:
            with ProgressReporter(report, env):
                env.run(agents)
        finally:
            for agent in hosted.values():
                agent.close()
        video, video_note = (_save_video(env, logdir, run_dir / f"match-{spec.index:03d}.webm") if spec.video
                             else (None, "video not requested (--video)"))
    final = env.steps[-1]
    durations = [log[me]["duration"] for log in env.logs[1:] if len(log) > me and "duration" in log[me]]
    stderr = _first_stderr(env, me)
    result = MatchResult(spec=spec, status=final[me].status, opponent_status=final[1 - me].status,
                         played_steps=len(env.steps) - 1, durations=durations,
                         debug_info=str(final[me].get("info", {}).get("debug_info", "")))
    if me in hosted:
        agent = hosted[me]
        stderr = agent.error or stderr  # the whole traceback from the runtime, with a hint for a missing module
        overhead = sorted(agent.stats.overhead)
        result.runtime_versions = agent.runtime.describe()
        result.runtime_overhead_p50 = overhead[len(overhead) // 2] if overhead else None
    result.stderr = stderr[-4000:]
    result.wanted = wanted_of(me, hosted, loaded_here)
    result.opponent_wanted = wanted_of(1 - me, hosted, loaded_here)
    result.reason = hosted[me].reason if me in hosted else ""
    result.opponent_reason = hosted[1 - me].reason if 1 - me in hosted else ""
    opponent_error = hosted[1 - me].error if 1 - me in hosted else ""
    result.opponent_stderr = (opponent_error or _first_stderr(env, 1 - me))[-4000:]
    raw = final[me].observation.players_raw
    result.score = list(raw[0]["score"]) if raw else [0, 0]  # gfootball flips the right side's view: [own, other]
    if spec.episode:
        episode = run_dir / f"match-{spec.index:03d}.json"
        episode.write_text(json.dumps(env.toJSON()))
        result.episode = str(episode)
    result.video, result.video_note = video, video_note
    return result


def _first_stderr(env, slot: int) -> str:
    return next((log[slot]["stderr"] for log in env.logs[1:] if len(log) > slot and log[slot].get("stderr")), "")


def _save_video(env, logdir: str, path: Path) -> tuple:
    """The engine's own rendering of the match (webm), as kaggle-environments shows it in a notebook; -> (path or
    None, why not). Rendering needs the engine's OpenGL output, which not every machine has."""
    try:
        from kaggle_environments.envs.football.football import try_get_video

        try_get_video(env, keep_running=True)
        found = env.football_video_path or next((str(p) for p in Path(logdir).rglob("*.webm")), None)
    except Exception as exc:  # noqa: BLE001 - any renderer failure only costs the video
        return None, f"no video: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    if not found or not Path(found).is_file():
        return None, "no video: the engine wrote none"
    shutil.move(found, path)
    return str(path), ""


def main() -> None:
    spec = MatchSpec(**json.loads(sys.argv[1]))
    report = os.fdopen(int(sys.argv[2]), "w") if len(sys.argv) > 2 else sys.stdout
    result = play(spec, report)
    send(report, "result " + json.dumps(result.to_dict()))


if __name__ == "__main__":
    main()
