"""Observation pipeline: kaggle observation -> SMM frame -> /255 -> difference with the previous frame.

Same semantics as the reference notebook's SMMFrameProcessWrapper (a two-frame buffer that starts
with zeros; the model sees `frame_t - frame_{t-1}` per channel, range -1..1), without its bugs:
every frame is normalised (the first one too) and the model gets the buffered difference, not the
raw frame. The buffer restarts when a new match begins, detected from gfootball's `steps_left`.
"""

import numpy as np

from agent_runtime.smm import SMM_HEIGHT, SMM_LAYERS, SMM_WIDTH, render_smm

SMM_FRAME_SHAPE = (SMM_HEIGHT, SMM_WIDTH, len(SMM_LAYERS))


def smm_frame(raw_observation: dict) -> np.ndarray:
    """One player's raw gfootball observation -> (72, 96, 4) float32 frame in 0..1 (no gfootball needed)."""
    return render_smm(raw_observation).astype(np.float32) / np.float32(255.0)


class FrameDifference:
    """Two-frame buffer that turns successive SMM frames into the model's input."""

    def __init__(self, frame_shape: tuple = SMM_FRAME_SHAPE, render=None) -> None:
        self.frame_shape = tuple(frame_shape)
        self.render = render if render is not None else smm_frame  # raw observation -> normalised frame
        self.reset()

    def reset(self) -> None:
        """Start a new episode: the previous frame is all zeros, as in the training wrapper."""
        self._previous = np.zeros(self.frame_shape, dtype=np.float32)
        self._steps_left = None

    def push(self, frame: np.ndarray) -> np.ndarray:
        """Add a normalised frame; return `frame - previous` as float32 of `frame_shape`."""
        frame = np.asarray(frame, dtype=np.float32).reshape(self.frame_shape)
        difference = frame - self._previous
        self._previous = frame
        return difference

    def push_raw(self, raw_observation: dict) -> np.ndarray:
        """Add one raw gfootball observation, restarting the buffer if a new match has begun."""
        steps_left = raw_observation.get("steps_left")
        if steps_left is not None:
            if self._steps_left is not None and steps_left >= self._steps_left:
                self.reset()
            self._steps_left = steps_left
        return self.push(self.render(raw_observation))


def raw_player_observation(kaggle_observation) -> dict:
    """The controlled player's raw dict from a kaggle-environments football observation."""
    return kaggle_observation["players_raw"][0]
