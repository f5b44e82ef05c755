"""Load the embedded weights into the numpy SplitterConvNN and wrap it in the greedy policy."""

import numpy as np

from agent_runtime.architecture import Architecture
from agent_runtime.codec import decode_weights
from agent_runtime.incremental import IncrementalForward
from agent_runtime.numpy_model import NumpySplitterConvNN
from agent_runtime.policy import GreedyQPolicy


def load_numpy_policy(architecture: dict, manifest: dict, blob: str, fallback_action: int) -> GreedyQPolicy:
    """Decode the weights and warm the forward pass once, at import; TensorFlow is never imported."""
    arch = Architecture.from_dict(architecture)
    network = NumpySplitterConvNN(arch, decode_weights(manifest, blob))
    # The incremental forward needs a dense layer after the convolutions to correct; otherwise: dense only.
    forward = IncrementalForward(network) if network.hidden else network
    forward(np.zeros(tuple(arch.input_shape), dtype=np.float32))  # warm up once, at load time
    return GreedyQPolicy(forward, tuple(arch.input_shape), arch.n_actions, fallback_action)
