"""The facts of the target, in one place: Kaggle's football environment, its timing rules, its loader, its limits.

Sources: kaggle-environments' `envs/football/football.json` and `agent.py` (unchanged for main.py files since
2022), and Kaggle's submission rules. Verify, check, league, replay, tests and benchmarks all take them from here.
"""

from pathlib import Path

SCENARIO = "11_vs_11_kaggle"  # Kaggle's: full 11 vs 11 game, 3000 steps of play
FULL_MATCH_STEPS = 3002  # football.json's episodeSteps: the steps an agent is called in a whole match
N_ACTIONS = 19  # gfootball's default action set: an agent returns [0..18]
ACT_TIMEOUT = 0.5  # seconds per call before the overage pool is drawn on
OVERAGE_POOL = 60.0  # seconds over the limit a match may use in all; an empty pool is TIMEOUT
SUBMISSION_MAX_BYTES = 100 * 1024 * 1024  # Kaggle's limit for a submission file
BUILTIN_AGENTS = ("do_nothing", "run_right")  # kaggle-environments' own football agents
FORFEITS = ("ERROR", "INVALID", "TIMEOUT")  # statuses that lose the match whatever the score
ACTION_NAMES = ("idle", "left", "top_left", "top", "top_right", "right", "bottom_right", "bottom", "bottom_left",
                "long_pass", "high_pass", "short_pass", "shot", "sprint", "release_direction", "release_sprint",
                "sliding", "dribble", "release_dribble")  # gfootball's default action set, by number


def agent_configuration() -> dict:
    """What an agent receives as `configuration` in a Kaggle football match (the keys agents read)."""
    return {"actTimeout": ACT_TIMEOUT, "episodeSteps": FULL_MATCH_STEPS}


def football_configuration(*, steps: int, logdir: str, team_1: int = 1, team_2: int = 1, video: bool = False,
                           scenario: str = SCENARIO) -> dict:
    """kaggle-environments' configuration for `steps` agent steps (episodeSteps counts the reset as step 0).

    team_1 / team_2: players each agent controls; 0 gives that side to the engine's own AI (kaggle-environments'
    builtin_ai returns action 19, which gfootball rejects, so gfsub never uses it)."""
    return {"scenario_name": scenario, "episodeSteps": steps + 1, "team_1": team_1, "team_2": team_2,
            "logdir": logdir, "save_video": video}


def make_football(*, steps: int, logdir: str, team_1: int = 1, team_2: int = 1, video: bool = False,
                  scenario: str = SCENARIO):
    """A kaggle-environments football environment (see football_configuration)."""
    from kaggle_environments import make

    return make("football", debug=False, configuration=football_configuration(
        steps=steps, logdir=logdir, team_1=team_1, team_2=team_2, video=video, scenario=scenario))


def load_like_kaggle(main_py: Path):
    """The agent callable exactly as kaggle-environments obtains it from a file: the source read as text, `exec`
    in a fresh `{}` with the file's folder appended to sys.path, the last callable it defines."""
    from kaggle_environments.agent import get_last_callable

    return get_last_callable(Path(main_py).read_text(encoding="utf-8"), path=str(main_py))
