"""Golden tests of main.py's observation pipeline on real engine observations of both sides.

main.py computes gfootball's representations itself (agent_runtime/); they must be bit-identical to gfootball's own
functions: simple115 and simple115v2 here (the SMM planes in test_smm.py), and every transform of a spec (scale,
difference, stack, fill) identical to the verification's reference pipeline, which uses gfootball's functions and
FrameStack's deque, through resets mid-stream.
"""

import collections
import copy

import numpy as np
import pytest
from gfootball.env import observation_preprocessing, wrappers

from agent_runtime.observation import ObservationPipeline, raw_player_observation
from agent_runtime.simple115 import simple115
from builder.observations import fit_to_inputs, parse_specs
from builder.reference_inputs import reference_inputs
from tests.helpers import as_kaggle


def _gfootball_115(raw: dict, fixed: bool) -> np.ndarray:
    return wrappers.Simple115StateWrapper.convert_observation([raw], fixed_positions=fixed)[0]


@pytest.mark.parametrize("fixed", [False, True], ids=["simple115", "simple115v2"])
def test_simple115_is_gfootballs_own_on_5000_real_observations_of_both_sides(both_sides_observations, fixed):
    assert len(both_sides_observations) >= 5000
    modes, owners = set(), set()
    for raw in both_sides_observations:
        got = simple115(raw, fixed_positions=fixed)
        assert got.dtype == np.float32 and got.shape == (115,)
        np.testing.assert_array_equal(got, _gfootball_115(raw, fixed))
        modes.add(raw["game_mode"])
        owners.add(raw["ball_owned_team"])
    assert len(modes) >= 3 and owners == {-1, 0, 1}, "set pieces and both teams on the ball were seen"


def test_simple115_edge_cases_no_active_player_and_a_team_short_of_players(both_sides_observations):
    """No controlled player (active -1): no one-hot. A team of 10 (a red card's effect on the arrays): simple115
    pads at the end, simple115v2 per group; both as gfootball does."""
    no_active = dict(both_sides_observations[100], active=-1)
    short = copy.deepcopy(both_sides_observations[200])
    for key in ("left_team", "left_team_direction"):
        short[key] = short[key][:10]
    for raw in (no_active, short):
        for fixed in (False, True):
            np.testing.assert_array_equal(simple115(raw, fixed), _gfootball_115(raw, fixed))
    assert not np.array_equal(simple115(short, False), simple115(short, True))
    assert simple115(no_active, True)[97:108].sum() == 0


SPECS = ["smm:scale=255:diff", "smm:stack=4", "smm:stack=4:fill=zeros", "smm:scale=255:diff:stack=2",
         "simple115v2:stack=2", "simple115:stack=3", "simple115v2:scale=2:diff", "simple115v2"]
SHAPES = {"smm:scale=255:diff": (72, 96, 4), "smm:stack=4": (72, 96, 16), "smm:stack=4:fill=zeros": (72, 96, 16),
          "smm:scale=255:diff:stack=2": (72, 96, 8), "simple115v2:stack=2": (115, 2), "simple115:stack=3": (345,),
          "simple115v2:scale=2:diff": (115,), "simple115v2": (115,)}


@pytest.mark.parametrize("text", SPECS)
def test_every_spec_gives_the_reference_pipelines_inputs_through_a_reset(text, both_sides_observations):
    """Each side's observations, then the start of the match again (a new match: every buffer restarts)."""
    specs = fit_to_inputs(parse_specs(text), ["x"], [SHAPES[text]])
    for side in (both_sides_observations[0::2], both_sides_observations[1::2]):
        stream = side[:300] + side[:60]
        want = reference_inputs(specs, stream)[0]
        pipeline = ObservationPipeline(specs)
        got = np.stack([pipeline(obs)[0] for obs in as_kaggle(stream)])
        assert got.dtype == np.float32 and got.shape == want.shape == (len(stream), *SHAPES[text])
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got[300:], got[:60])


def test_a_stack_starts_as_gfootballs_frame_stack_or_with_zeros(both_sides_observations):
    first = as_kaggle(both_sides_observations[:1])[0]
    for fill, expected_copies in (("first", 4), ("zeros", 1)):
        specs = fit_to_inputs(parse_specs(f"smm:stack=4:fill={fill}"), ["x"], [(72, 96, 16)])
        stacked = ObservationPipeline(specs)(first)[0]
        frame = observation_preprocessing.generate_smm([both_sides_observations[0]])[0]
        copies = [np.array_equal(stacked[..., 4 * k:4 * k + 4], frame) for k in range(4)]
        assert sum(copies) == expected_copies and copies[-1]
        if fill == "zeros":
            assert not stacked[..., :12].any()


class TrainingWrapperReference:
    """The notebook's SMMFrameProcessWrapper buffer, as it trains with it (normalising every frame)."""

    def __init__(self) -> None:
        self.buffer = collections.deque([np.zeros((72, 96, 4)), np.zeros((72, 96, 4))], maxlen=2)

    def add(self, smm: np.ndarray) -> np.ndarray:
        self.buffer.append(smm / 255.0)
        return self.buffer[1] - self.buffer[0]


def test_the_notebook_default_is_its_training_wrapper_without_its_bugs(engine_observations):
    """The first frame is /255 too, and the model gets the buffered difference, not the raw frame."""
    specs = fit_to_inputs(parse_specs("smm:scale=255:diff"), ["x"], [(72, 96, 4)])
    pipeline, reference = ObservationPipeline(specs), TrainingWrapperReference()
    for index, obs in enumerate(engine_observations):
        raw = raw_player_observation(obs)
        got = pipeline(obs)[0]
        want = reference.add(observation_preprocessing.generate_smm([raw])[0].astype(np.float64))
        np.testing.assert_array_equal(got, want.astype(np.float32))
        if index == 0:
            assert got.max() == 1.0, "the first frame is /255 (the notebook's reset() fed 0..255)"


def test_an_encoders_reset_is_called_at_each_new_match(both_sides_observations):
    calls = []

    def encode(raw):
        return np.full(3, raw["steps_left"], np.float32)

    pipeline = ObservationPipeline([], encoder=(encode, lambda: calls.append("reset")))
    for obs in as_kaggle(both_sides_observations[0::2][:20] * 2):
        assert pipeline(obs)[0].shape == (3,)
    assert calls == ["reset", "reset"], "once when made, once when the second match began"
