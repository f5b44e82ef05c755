"""SplitterConvNN as a Keras 3 model built from an Architecture, and a compiled Q-value function."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from agent_runtime.architecture import Architecture, conv_name, pool_name  # noqa: E402


class SplitLayer(keras.layers.Layer):
    """Split the last axis into separate (..., 1) tensors, one per channel."""

    def call(self, inputs):
        return [keras.ops.expand_dims(inputs[..., i], -1) for i in range(inputs.shape[-1])]

    def compute_output_spec(self, inputs):
        shape = tuple(inputs.shape[:-1]) + (1,)
        return [keras.KerasTensor(shape, dtype=inputs.dtype) for _ in range(inputs.shape[-1])]


class DuelingMerge(keras.layers.Layer):
    """Q = V + A - mean(A), the dueling head of the reference author's models."""

    def call(self, inputs):
        value, advantage = inputs
        return value + advantage - keras.ops.mean(advantage, axis=1, keepdims=True)


def build_keras_model(arch: Architecture) -> "keras.Model":
    """The SplitterConvNN for `arch`, with the notebook's layer names."""
    frames = keras.Input(shape=tuple(arch.input_shape), name="input")
    channels = SplitLayer(name="split")(frames)
    branches = []
    for branch, channel in enumerate(channels):
        x = channel
        for depth, conv in enumerate(arch.convs, start=1):
            x = keras.layers.Conv2D(
                conv.filters,
                kernel_size=tuple(conv.kernel),
                strides=tuple(conv.strides),
                padding=conv.padding,
                activation="relu",
                name=conv_name(depth, branch),
            )(x)
            if conv.pool is not None:
                x = keras.layers.MaxPooling2D(
                    pool_size=tuple(conv.pool.size),
                    strides=tuple(conv.pool.strides),
                    padding=conv.pool.padding,
                    name=pool_name(depth, branch),
                )(x)
        branches.append(keras.layers.Flatten(name=f"flatten_{branch}")(x))
    x = keras.layers.Concatenate(name="concat")(branches) if len(branches) > 1 else branches[0]
    for index, units in enumerate(arch.dense_units, start=1):
        x = keras.layers.Dense(units, activation="relu", name=f"fc{index}")(x)
    if arch.dueling:
        value = keras.layers.Dense(1, name="value")(x)
        advantage = keras.layers.Dense(arch.n_actions, name="advantage")(x)
        q_values = DuelingMerge(name="output")([value, advantage])
    else:
        q_values = keras.layers.Dense(arch.n_actions, name="output")(x)
    return keras.Model(inputs=frames, outputs=q_values, name="splitter_conv_nn")


def assign_weights(model: "keras.Model", arch: Architecture, named_arrays: list) -> None:
    """Set weights from [(\"layer/kernel\" or \"layer/bias\", array)] in `arch.layer_shapes()` order."""
    by_name = dict(named_arrays)
    for layer_name, _ in arch.layer_shapes():
        layer = model.get_layer(layer_name)
        layer.set_weights([by_name[f"{layer_name}/kernel"], by_name[f"{layer_name}/bias"]])


def compiled_q_function(model: "keras.Model", input_shape: tuple):
    """A traced, graph-compiled forward pass for one observation: (H, W, C) float32 -> (n_actions,)."""
    import tensorflow as tf

    signature = [tf.TensorSpec((1, *input_shape), tf.float32)]
    forward = tf.function(lambda batch: model(batch, training=False), input_signature=signature, autograph=False)

    def q_function(observation: np.ndarray) -> np.ndarray:
        batch = np.asarray(observation, dtype=np.float32).reshape((1, *input_shape))
        return forward(tf.constant(batch)).numpy()[0]

    q_function(np.zeros(input_shape, dtype=np.float32))  # trace and warm up once, at load time
    return q_function
