"""The football environment every gfsub match is played in: one function, so verify, check, league, tests and
benchmarks all configure kaggle-environments the same way."""

SCENARIO = "11_vs_11_kaggle"  # Kaggle's: full 11 vs 11 game, 3000 steps of play


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
