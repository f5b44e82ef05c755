"""Shared fixtures: real engine observations, seeded user models, and main.py helpers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from builder import verify  # noqa: E402
from builder.verify import load_like_kaggle, pipeline_inputs  # noqa: E402


@pytest.fixture(scope="session")
def engine_observations() -> list:
    """120 consecutive kaggle observations of the left player from a real engine match (run_right vs engine AI)."""
    from kaggle_environments import make

    env = make("football", debug=False, configuration={
        "scenario_name": "11_vs_11_kaggle", "episodeSteps": 121, "team_2": 0, "logdir": "/tmp/gfsub-test-football"})
    steps = env.run(["run_right", "do_nothing"])
    return [step[0].observation for step in steps[:-1]]


@pytest.fixture(scope="session")
def notebook_user_model():
    from tests.user_model import notebook_model

    return notebook_model(seed=1)


def main_py_q_values(main_py, observations: list) -> np.ndarray:
    """Q-values main.py computes on these observations, loaded the way kaggle-environments loads it."""
    return verify.main_py_q_values(load_like_kaggle(main_py).__globals__, observations)


def model_q_values(model, observations: list) -> np.ndarray:
    return np.asarray(model.predict_on_batch(pipeline_inputs(observations)))


__all__ = ["main_py_q_values", "model_q_values", "pipeline_inputs"]


@pytest.fixture(scope="session")
def both_sides_observations() -> list:
    """Raw observations of both controlled players over a long real match (2,600 steps of seeded random actions on
    both sides, the other 20 players by the engine AI): set pieces, the ball out of play, players on the touchlines."""
    import random

    from kaggle_environments import make

    rng = random.Random(0)

    def random_agent(obs, config=None):
        return [rng.randrange(19)]

    env = make("football", debug=False, configuration={
        "scenario_name": "11_vs_11_kaggle", "episodeSteps": 2601, "logdir": "/tmp/gfsub-test-football"})
    steps = env.run([random_agent, random_agent])
    return [state.observation.players_raw[0] for step in steps[:-1] for state in step if state.observation.players_raw]
