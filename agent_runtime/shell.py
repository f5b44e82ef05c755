"""The agent shell: the user's code around the net, and the recurrent state carried from step to step.

Each step: the encoder's inputs (encode, observation.py) and the state inputs go through the model, which gives
every named output; each state input takes its paired output for the next step (zeros at a new match); the action
is the user's `decide(outputs, obs)`, else the argmax of the recorded output's first 19 values. The graph says it
all as data: `outputs` ([name, tensor] pairs), `record` (the output whose first 19 values "what the model wanted"
records) and `state` ([input, output] pairs).
"""

import numpy as np

from agent_runtime.graph import input_dtypes
from agent_runtime.observation import ObservationPipeline, raw_player_observation
from agent_runtime.policy import N_ACTIONS, GreedyPolicy


class ShellPolicy(GreedyPolicy):
    """GreedyPolicy with named outputs, recurrent state and the user's decide(); never raising either."""

    def __init__(self, model, specs, encoder=None, fallback_action=0):
        graph = model.graph
        self.pairs = [(name, output) for name, output in graph.get("state", [])]
        carried = set(name for name, _ in self.pairs)
        self.fed = [name for name in graph["inputs"] if name not in carried]  # what the encoder returns, in order
        names = dict(zip(graph["inputs"], graph.get("input_names", graph["inputs"])))
        pipeline = ObservationPipeline(specs, encoder, [names[name] for name in self.fed])
        GreedyPolicy.__init__(self, model, pipeline, N_ACTIONS, fallback_action)
        dtypes = dict(zip(graph["inputs"], input_dtypes(graph["nodes"], graph["inputs"])))
        shapes = dict(zip(graph["inputs"], graph["input_shapes"]))
        self.zeros = dict((name, np.zeros([1] + list(shapes[name]), dtype=dtypes[name])) for name in carried)
        self.state = dict(self.zeros)
        self.record = graph["record"]
        self.decide = encoder[2] if encoder is not None and len(encoder) > 2 else None
        self.last_outputs = None

    def values(self, kaggle_observation):
        """One step of the model: encoder inputs and state in; every output kept, the state advanced."""
        self.last_values = self.last_outputs = None
        encoded = self.pipeline(kaggle_observation)
        if self.pipeline.new_match:
            self.state, self.pipeline.new_match = dict(self.zeros), False
        feed = dict(zip(self.fed, [x[None] for x in encoded]))
        feed.update(self.state)
        outputs = self.model.outputs([feed[name] for name in self.model.graph["inputs"]])
        self.state = dict((name, outputs[output]) for name, output in self.pairs)
        self.last_outputs = outputs
        self.last_values = np.asarray(outputs[self.record], dtype=np.float32).reshape(-1)[:N_ACTIONS]
        return self.last_values

    def choose(self, values, kaggle_observation):
        """decide(outputs, obs) when the encoder defines it, which must give an action in 0..18; else greedy."""
        if self.decide is None:
            return GreedyPolicy.choose(self, values, kaggle_observation)
        action = self.decide(self.last_outputs, raw_player_observation(kaggle_observation))
        if isinstance(action, (bool, np.bool_)) or int(action) != action or not 0 <= int(action) < N_ACTIONS:
            raise ValueError(f"decide() returned {action!r}, not an action in 0..{N_ACTIONS - 1}")
        return int(action)
