"""main.py's model in Keras: the graph rebuilt as a tf.keras model with its embedded weights, its forward pass
traced once, behind the observation pipeline and the greedy policy."""

from agent_runtime.codec import decode_weights
from agent_runtime.keras_model import build_keras_model, compiled_forward
from agent_runtime.observation import ObservationPipeline
from agent_runtime.policy import N_ACTIONS, GreedyPolicy


def load_keras_policy(graph, observation, manifest, blob, fallback_action, encoder=None):
    """Rebuild the model, set its weights, trace and warm its forward pass: done once, at import."""
    model = build_keras_model(graph, decode_weights(manifest, blob))
    forward = compiled_forward(model, graph["input_shapes"])
    return GreedyPolicy(forward, ObservationPipeline(observation, encoder, graph["inputs"]), N_ACTIONS, fallback_action)
