"""SplitterConvNN as a tf.keras model built from an Architecture, and a compiled Q-value function.

Only `tf.keras` APIs that Keras 2 (TensorFlow 2.3 - 2.15) and Keras 3 (TensorFlow 2.16+) share: standard layers,
and two small custom layers whose `call` is plain TensorFlow. So the same code runs on Kaggle's 2020 image
(tf.keras 2.4, Python 3.7) and on today's (Keras 3).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from agent_runtime.architecture import Architecture, conv_name  # noqa: E402

# main.py runs under exec() without a source file: AutoGraph could not read these `call`s and Keras 2 would
# log a warning for each custom layer. They hold no Python control flow, so there is nothing to convert.
# Keras 2 then sees the wrapper's (*args, **kwargs) signature and passes `training=`: `call` takes **kwargs.
_plain_tf = tf.autograph.experimental.do_not_convert


class SplitLayer(tf.keras.layers.Layer):
    """Split the last axis into separate (..., 1) tensors, one per channel."""

    @_plain_tf
    def call(self, inputs, **kwargs):
        return tf.split(inputs, num_or_size_splits=int(inputs.shape[-1]), axis=-1)


class DuelingMerge(tf.keras.layers.Layer):
    """Q = V + A - mean(A), the dueling head of the reference author's models."""

    @_plain_tf
    def call(self, inputs, **kwargs):
        value, advantage = inputs
        return value + advantage - tf.reduce_mean(advantage, axis=-1, keepdims=True)


def pool_name(depth: int, branch: int) -> str:
    """Layer name of the notebook's optional max-pool: pool{depth}_frame_{branch}."""
    return f"pool{depth}_frame_{branch}"


def keras_activation(name: str):
    """Keras' activation by name; leaky_relu as tf.nn's (slope 0.2, Keras 3's; Keras 2's own is 0.3)."""
    if name == "leaky_relu":
        return tf.nn.leaky_relu  # alpha defaults to 0.2 in every TensorFlow 2
    return name


def build_keras_model(arch: Architecture) -> "tf.keras.Model":
    """The SplitterConvNN for `arch`, with the notebook's layer names."""
    layers = tf.keras.layers
    frames = tf.keras.Input(shape=tuple(arch.input_shape), name="input")
    channels = SplitLayer(name="split")(frames)
    branches = []
    for branch, channel in enumerate(channels):
        x = channel
        for depth, conv in enumerate(arch.convs, start=1):
            x = layers.Conv2D(conv.filters, kernel_size=tuple(conv.kernel), strides=tuple(conv.strides),
                              padding=conv.padding, activation=keras_activation(conv.activation),
                              name=conv_name(depth, branch))(x)
            if conv.pool is not None:
                x = layers.MaxPooling2D(pool_size=tuple(conv.pool.size), strides=tuple(conv.pool.strides),
                                        padding=conv.pool.padding, name=pool_name(depth, branch))(x)
        branches.append(layers.Flatten(name=f"flatten_{branch}")(x))
    x = layers.Concatenate(name="concat")(branches) if len(branches) > 1 else branches[0]
    for index, (units, activation) in enumerate(zip(arch.dense_units, arch.dense_activations), start=1):
        x = layers.Dense(units, activation=keras_activation(activation), name=f"fc{index}")(x)
    if arch.dueling:
        value = layers.Dense(1, name="value")(x)
        advantage = layers.Dense(arch.n_actions, name="advantage")(x)
        q_values = DuelingMerge(name="output")([value, advantage])
    else:
        q_values = layers.Dense(arch.n_actions, activation=keras_activation(arch.head_activation), name="output")(x)
    return tf.keras.Model(inputs=frames, outputs=q_values, name="splitter_conv_nn")


def assign_weights(model: "tf.keras.Model", arch: Architecture, named_arrays: list) -> None:
    """Set weights from [(\"layer/kernel\" or \"layer/bias\", array)] in `arch.layer_shapes()` order."""
    by_name = dict(named_arrays)
    for layer_name, _ in arch.layer_shapes():
        layer = model.get_layer(layer_name)
        layer.set_weights([np.asarray(by_name[layer_name + "/kernel"], dtype=np.float32),
                           np.asarray(by_name[layer_name + "/bias"], dtype=np.float32)])


def compiled_q_function(model: "tf.keras.Model", input_shape: tuple):
    """A traced, graph-compiled forward pass for one observation: (H, W, C) float32 -> (n_actions,)."""
    batch_shape = (1,) + tuple(input_shape)
    signature = [tf.TensorSpec(batch_shape, tf.float32)]
    forward = tf.function(lambda batch: model(batch, training=False), input_signature=signature, autograph=False)

    def q_function(observation: np.ndarray) -> np.ndarray:
        batch = np.asarray(observation, dtype=np.float32).reshape(batch_shape)
        return forward(tf.constant(batch)).numpy()[0]

    q_function(np.zeros(input_shape, dtype=np.float32))  # trace and warm up once, at load time
    return q_function
