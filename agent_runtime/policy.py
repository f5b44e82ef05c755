"""The greedy Q policy that main.py's `agent` calls: observation -> [action], never raising."""

import sys
import traceback

import numpy as np

from agent_runtime.observation import FrameDifference, raw_player_observation

MAX_TRACEBACKS = 5


class GreedyQPolicy:
    """argmax over Q-values of the frame-difference observation, with a fallback on any error."""

    def __init__(self, q_function, frame_shape: tuple, n_actions: int, fallback_action: int = 0) -> None:
        self.q_function = q_function
        self.frames = FrameDifference(frame_shape)
        self.n_actions = int(n_actions)
        self.fallback_action = int(fallback_action)
        self.errors = 0
        self.last_q_values = None  # the Q-values behind the last action (read by gfsub's parity checks)

    def q_values(self, kaggle_observation) -> np.ndarray:
        """Push this step's observation through the pipeline and the model."""
        model_input = self.frames.push_raw(raw_player_observation(kaggle_observation))
        self.last_q_values = None
        self.last_q_values = np.asarray(self.q_function(model_input), dtype=np.float32)
        return self.last_q_values

    def act(self, kaggle_observation) -> list:
        """[greedy action]; on any exception: traceback to stderr and [fallback_action]."""
        try:
            q_values = self.q_values(kaggle_observation)
            action = int(np.argmax(q_values))
            if not 0 <= action < self.n_actions or not np.isfinite(q_values[action]):
                raise ValueError(f"model produced an unusable action {action} from Q-values {q_values}")
            return [action]
        except Exception:
            self.errors += 1
            if self.errors <= MAX_TRACEBACKS:
                print(f"gfsub agent: error #{self.errors}, playing action {self.fallback_action}",
                      file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
            return [self.fallback_action]
