"""main.py's model in numpy: the graph with its embedded weights, behind the observation pipeline and the greedy
policy. TensorFlow is never imported."""

import numpy as np

from agent_runtime.codec import decode_weights
from agent_runtime.graph import GraphModel
from agent_runtime.incremental import incremental_forward
from agent_runtime.observation import ObservationPipeline
from agent_runtime.policy import N_ACTIONS, GreedyPolicy
from agent_runtime.shell import ShellPolicy


def load_numpy_policy(graph, observation, manifest, blob, fallback_action, encoder=None):
    """Decode the weights and warm the forward pass once, at import. A graph with named outputs (an ONNX model,
    a recurrent one, an encoder with decide) runs in the agent shell."""
    model = GraphModel(graph, decode_weights(manifest, blob))
    if "outputs" in graph:
        policy = ShellPolicy(model, observation, encoder, fallback_action)
        model.outputs([np.zeros([1] + list(shape), dtype=dtype)
                       for shape, dtype in zip(graph["input_shapes"], model.input_dtypes)])
        return policy
    forward = incremental_forward(model, observation) or model  # only what changed is computed, where that pays
    forward([np.zeros([1] + list(shape), dtype=np.float32) for shape in graph["input_shapes"]])
    return GreedyPolicy(forward, ObservationPipeline(observation, encoder, graph["inputs"]), N_ACTIONS, fallback_action)
