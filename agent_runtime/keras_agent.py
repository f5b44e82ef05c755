"""Load the embedded weights into the Keras SplitterConvNN and wrap it in the greedy policy."""

from agent_runtime.architecture import Architecture
from agent_runtime.codec import decode_weights
from agent_runtime.keras_model import assign_weights, build_keras_model, compiled_q_function
from agent_runtime.policy import GreedyQPolicy


def load_keras_policy(architecture: dict, manifest: dict, blob: str, fallback_action: int) -> GreedyQPolicy:
    """Rebuild the model, set its weights, trace and warm its forward pass: done once, at import."""
    arch = Architecture.from_dict(architecture)
    model = build_keras_model(arch)
    assign_weights(model, arch, decode_weights(manifest, blob))
    q_function = compiled_q_function(model, tuple(arch.input_shape))
    return GreedyQPolicy(q_function, tuple(arch.input_shape), arch.n_actions, fallback_action)
