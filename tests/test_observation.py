"""Golden tests of the observation pipeline on real engine observations.

The golden reference is the training wrapper's semantics written out independently here (a two-frame
deque starting with zeros, /255, per-channel difference), with the notebook's bugs fixed: the first
frame is normalised too, and what comes out is the buffered difference, not the raw frame.
"""

import collections

import numpy as np
from gfootball.env import observation_preprocessing

from agent_runtime.observation import FrameDifference, raw_player_observation, smm_frame


class TrainingWrapperReference:
    """SMMFrameProcessWrapper's buffer, as the notebook trains with it (normalising every frame)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.buffer = collections.deque([np.zeros((72, 96, 4)), np.zeros((72, 96, 4))], maxlen=2)

    def add(self, smm: np.ndarray) -> np.ndarray:
        self.buffer.append(smm / 255.0)
        out = np.empty((72, 96, 4))
        for channel in range(4):
            out[..., channel] = self.buffer[1][..., channel] - self.buffer[0][..., channel]
        return out


def test_smm_frame_is_generate_smm_scaled(engine_observations):
    raw = raw_player_observation(engine_observations[10])
    frame = smm_frame(raw)
    smm = observation_preprocessing.generate_smm([raw])
    assert smm.shape == (1, 72, 96, 4) and smm.dtype == np.uint8
    assert frame.shape == (72, 96, 4) and frame.dtype == np.float32
    np.testing.assert_array_equal(frame, smm[0] / np.float32(255.0))
    assert set(np.unique(frame)) <= {0.0, 1.0}
    assert frame[..., 2].sum() > 0, "the ball channel should mark the ball"


def test_pipeline_matches_training_wrapper_on_real_match(engine_observations):
    pipeline, reference = FrameDifference(), TrainingWrapperReference()
    moving = 0
    for obs in engine_observations:
        raw = raw_player_observation(obs)
        got = pipeline.push_raw(raw)
        want = reference.add(observation_preprocessing.generate_smm([raw])[0].astype(np.float64))
        assert got.shape == (72, 96, 4) and got.dtype == np.float32
        np.testing.assert_array_equal(got, want.astype(np.float32))
        assert got.min() >= -1.0 and got.max() <= 1.0
        moving += int(np.any(got != 0))
    assert moving > len(engine_observations) // 2, "players move: most differences are non-zero"


def test_first_frame_is_normalised_not_raw(engine_observations):
    first = FrameDifference().push_raw(raw_player_observation(engine_observations[0]))
    assert first.max() == 1.0, "the first frame is /255 (the notebook's reset() fed 0..255)"
    np.testing.assert_array_equal(first, smm_frame(raw_player_observation(engine_observations[0])))


def test_buffer_restarts_when_a_new_match_begins(engine_observations):
    pipeline = FrameDifference()
    for obs in engine_observations[:30]:
        pipeline.push_raw(raw_player_observation(obs))
    restarted = pipeline.push_raw(raw_player_observation(engine_observations[0]))
    fresh = FrameDifference().push_raw(raw_player_observation(engine_observations[0]))
    np.testing.assert_array_equal(restarted, fresh)


def test_within_a_match_the_buffer_carries_over(engine_observations):
    pipeline = FrameDifference()
    pipeline.push_raw(raw_player_observation(engine_observations[20]))
    b = pipeline.push_raw(raw_player_observation(engine_observations[21]))
    np.testing.assert_array_equal(
        b, smm_frame(raw_player_observation(engine_observations[21])) - smm_frame(
            raw_player_observation(engine_observations[20])))
