"""One real match on the gfootball engine, run in its own process: `python -m builder.match SPEC_JSON`.

The candidate main.py is given to kaggle-environments by path, exactly as a submission is loaded.
Prints one JSON line with the result; writes the episode JSON and, when it can, the HTML replay.
"""

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUILTIN_OPPONENTS = ("engine", "do_nothing", "run_right", "self")
FORFEITS = ("ERROR", "INVALID", "TIMEOUT")


@dataclass
class MatchSpec:
    index: int
    candidate: str
    opponent: str  # engine | do_nothing | run_right | self | path to another main.py
    side: str  # left | right
    steps: int
    seed: int
    run_dir: str
    replay: bool = True
    runtime: str = "current"  # where the candidate runs: "current" loads it in this process, as Kaggle does today


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


def candidate_in_runtime(spec: MatchSpec):
    """The candidate as a callable living in its runtime's own process (started now, loaded by its first call)."""
    from builder.runtime_agent import RuntimeAgent
    from builder.runtimes import get_runtime, get_spec

    runtime = get_runtime(get_spec(spec.runtime))
    if runtime is None:
        raise RuntimeError(f"runtime {spec.runtime} is not created: run `gfsub runtime create {spec.runtime}`")
    return RuntimeAgent(runtime, spec.candidate).start()


def play(spec: MatchSpec) -> dict:
    from kaggle_environments import make

    seed_engine(spec.seed)
    agents, (team_1, team_2) = agents_and_teams(spec)
    me = 0 if spec.side == "left" else 1
    hosted = None
    if spec.runtime != "current":
        hosted = candidate_in_runtime(spec)
        agents[me] = hosted
    run_dir = Path(spec.run_dir)
    with tempfile.TemporaryDirectory(prefix="gfsub-match-") as logdir:
        env = make("football", debug=False, configuration={
            "scenario_name": "11_vs_11_kaggle", "episodeSteps": spec.steps + 1,
            "team_1": team_1, "team_2": team_2, "logdir": logdir, "save_video": spec.replay})
        try:
            env.run(agents)
        finally:
            if hosted is not None:
                hosted.close()
        replay, replay_note = (_write_replay(env, run_dir / f"match-{spec.index:03d}.html") if spec.replay
                               else (None, "replay not requested"))
    final = env.steps[-1]
    durations = [log[me]["duration"] for log in env.logs[1:] if len(log) > me and "duration" in log[me]]
    stderr = next((log[me]["stderr"] for log in env.logs[1:] if len(log) > me and log[me].get("stderr")), "")
    runtime_info = {}
    if hosted is not None:
        stderr = hosted.error or stderr  # the whole traceback from the runtime, with a hint for a missing module
        overhead = sorted(hosted.stats.overhead)
        runtime_info = {"runtime_versions": hosted.runtime.describe(),
                        "runtime_overhead_p50": overhead[len(overhead) // 2] if overhead else None}
    raw = final[me].observation.players_raw
    score = list(raw[0]["score"]) if raw else [0, 0]  # gfootball flips the right player's view: [own, opponent]
    episode = run_dir / f"match-{spec.index:03d}.json"
    episode.write_text(json.dumps(env.toJSON()))
    return {
        **asdict(spec),
        "status": final[me].status,
        "opponent_status": final[1 - me].status,
        "score": score,
        "played_steps": len(env.steps) - 1,
        "durations": durations,
        "stderr": stderr[-4000:],
        "debug_info": str(final[me].get("info", {}).get("debug_info", "")),
        "episode": str(episode),
        "replay": replay,
        "replay_note": replay_note,
        **runtime_info,
    }


def _write_replay(env, path: Path) -> tuple:
    """kaggle-environments' HTML replay; football's needs a video, which needs rendering to be available."""
    try:
        html = env.render(mode="html")
    except Exception as exc:  # noqa: BLE001 - any renderer failure only costs the replay
        return None, f"no HTML replay: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    path.write_text(html)
    return str(path), ""


def main() -> None:
    spec = MatchSpec(**json.loads(sys.argv[1]))
    result = play(spec)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
