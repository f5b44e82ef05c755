"""Shared fixtures: real engine observations and seeded user models (helpers: tests/helpers.py)."""

import pytest

from common.kaggle import make_football
from tests.shared import made_once

# Session fixtures that play the engine: a test that uses one plays it too. Tests that build a main.py (which verifies
# on the engine) or play matches say so themselves, with `pytestmark = pytest.mark.engine` or a mark of their own.
ENGINE_FIXTURES = {"engine_observations", "both_sides_observations", "gfsub_agents"}


def pytest_itemcollected(item) -> None:
    """`engine` marks what plays the real engine: `pytest -m "not engine"` runs the fast unit tests.

    Under pytest-xdist's `--dist loadgroup` (scripts/run_tests.sh), the tests that share a module fixture (a model
    built, a match played) are one group, run by one worker so that the fixture is made once; every other test goes
    to whichever worker is free. (Marked as each test is collected, before xdist reads the groups.)"""
    if ENGINE_FIXTURES & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.engine)
    if uses_a_module_fixture(item):
        item.add_marker(pytest.mark.xdist_group(item.module.__name__))


# The longest groups (a minute to ten of module fixtures and full matches), collected first so that pytest-xdist
# hands them out first and the run does not end waiting on one of them.
LONGEST_FIRST = ("test_families", "test_replay", "test_runtimes", "test_gate", "test_install", "test_demo",
                 "test_sources", "test_benchmarks", "test_torch_families", "test_hostile_models")


def pytest_collection_modifyitems(items) -> None:
    def rank(item) -> int:
        name = item.module.__name__.rpartition(".")[2] if getattr(item, "module", None) else ""
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module's own order is kept


def uses_a_module_fixture(item) -> bool:
    definitions = getattr(item, "_fixtureinfo", None)
    return definitions is not None and any(definition.scope == "module" for found in
                                           definitions.name2fixturedefs.values() for definition in found)


@pytest.fixture(scope="session")
def engine_observations(tmp_path_factory) -> list:
    """120 consecutive kaggle observations of the left player from a real engine match (run_right vs engine AI)."""

    def play(folder) -> list:
        env = make_football(steps=120, team_2=0, logdir=str(folder))
        steps = env.run(["run_right", "do_nothing"])
        return [step[0].observation for step in steps[:-1]]

    return made_once(tmp_path_factory, "engine-observations", play)


@pytest.fixture(scope="session")
def notebook_user_model():
    from tests.user_model import notebook_model

    return notebook_model(seed=1)


@pytest.fixture(scope="session")
def both_sides_observations(tmp_path_factory) -> list:
    """Raw observations of both controlled players over a long real match (2,600 steps of seeded random actions on
    both sides, the other 20 players by the engine AI): set pieces, the ball out of play, players on the touchlines."""
    import random

    def play(folder) -> list:
        rng = random.Random(0)

        def random_agent(obs, config=None):
            return [rng.randrange(19)]

        env = make_football(steps=2600, logdir=str(folder))
        steps = env.run([random_agent, random_agent])
        return [state.observation.players_raw[0] for step in steps[:-1] for state in step
                if state.observation.players_raw]

    return made_once(tmp_path_factory, "both-sides-observations", play)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through playwright: report pages are opened in it (tests/pages.py)."""
    from playwright.sync_api import sync_playwright

    from tests.pages import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def gfsub_agents(tmp_path_factory, notebook_user_model) -> dict:
    """Two gfsub main.py files of the notebook's network, built and verified by the real pipeline: "main" (the
    session's user model) and "other" (the same network with other weights)."""
    from builder.pipeline import build
    from tests.user_model import notebook_model

    def build_both(folder) -> dict:
        built = {}
        for name, model in (("main", notebook_user_model), ("other", notebook_model(seed=2))):
            model.save(folder / f"{name}.keras")
            (folder / name).mkdir()
            built[name] = build(folder / f"{name}.keras", folder / name / "main.py", verify_steps=40,
                                targets="current").output
        return built

    return made_once(tmp_path_factory, "gfsub-agents", build_both)
