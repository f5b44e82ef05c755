"""The greedy policy that main.py's `agent` calls: observation -> [action], never raising."""

import sys
import traceback

import numpy as np

MAX_TRACEBACKS = 5
N_ACTIONS = 19  # gfootball's default action set, which Kaggle football plays


class GreedyPolicy:
    """argmax of the model's output (Q-values or policy logits) on the pipeline's inputs; the fallback action on
    any error. `last_values` holds the output behind the last action (None after a failed step)."""

    def __init__(self, model, pipeline, n_actions, fallback_action=0):
        self.model = model  # [inputs with a batch axis] -> (1, n_actions)
        self.pipeline = pipeline  # kaggle observation -> [model inputs]
        self.n_actions = int(n_actions)
        self.fallback_action = int(fallback_action)
        self.errors = 0
        self.last_values = None

    def values(self, kaggle_observation):
        """Push this step's observation through the pipeline and the model."""
        self.last_values = None
        inputs = [x[None] for x in self.pipeline(kaggle_observation)]
        self.last_values = np.asarray(self.model(inputs), dtype=np.float32).reshape(-1)
        return self.last_values

    def act(self, kaggle_observation):
        """[greedy action]; on any exception: traceback to stderr and [fallback_action]."""
        try:
            return [self.choose(self.values(kaggle_observation), kaggle_observation)]
        except Exception:
            return [self.fallback()]

    def choose(self, values, kaggle_observation):
        """The greedy action of these values, which must be one per action and finite."""
        action = int(np.argmax(values))
        if len(values) != self.n_actions or not np.isfinite(values[action]):
            raise ValueError(f"model produced unusable values {values}")
        return action

    def fallback(self):
        """Count the error, print its traceback (the first few), and play the fallback action."""
        self.errors += 1
        if self.errors <= MAX_TRACEBACKS:
            print(f"gfsub agent: error #{self.errors}, playing action {self.fallback_action}", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
        return self.fallback_action
