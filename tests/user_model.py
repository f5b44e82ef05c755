"""A competitor's own training code, independent of gfsub: the notebook's model, written the notebook's way.

Its SplitLayer is the user's class, registered under the user's package name; branches are built one
after the other and joined with an unnamed `concatenate`, as in the reference notebook.
"""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="my_training_code")
class SplitLayer(keras.layers.Layer):
    def __init__(self, split_dim: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.split_dim = split_dim

    def call(self, inputs):
        return [keras.ops.expand_dims(inputs[..., i], self.split_dim) for i in range(inputs.shape[self.split_dim])]

    def compute_output_spec(self, inputs):
        shape = tuple(inputs.shape[:-1]) + (1,)
        return [keras.KerasTensor(shape, dtype=inputs.dtype) for _ in range(inputs.shape[-1])]

    def get_config(self) -> dict:
        return {**super().get_config(), "split_dim": self.split_dim}


NOTEBOOK_CONVS = ((16, 8, 4), (24, 4, 2), (32, 3, 1))


def notebook_model(
    seed: int = 0,
    dense_units: tuple = (512, 256),
    n_actions: int = 19,
    max_pool: bool = False,
    dueling: bool = False,
    convs: tuple = NOTEBOOK_CONVS,
) -> keras.Model:
    """The reference notebook's SplitterConvNN (optionally: max-pool after each conv, dueling head)."""
    keras.utils.set_random_seed(seed)
    frames_input = keras.layers.Input(name="input", shape=(72, 96, 4))
    branches = []
    for f, frame in enumerate(SplitLayer(split_dim=3)(frames_input)):
        x = frame
        for depth, (filters, kernel, stride) in enumerate(convs, start=1):
            x = keras.layers.Conv2D(filters, kernel_size=(kernel, kernel), strides=(stride, stride),
                                    name=f"conv{depth}_frame_{f}", padding="same", activation="relu")(x)
            if max_pool:
                x = keras.layers.MaxPooling2D(pool_size=(2, 2), padding="same")(x)
        branches.append(keras.layers.Flatten(name=f"flatten_{f}")(x))
    x = keras.layers.concatenate(branches)
    for index, units in enumerate(dense_units, start=1):
        x = keras.layers.Dense(units=units, name=f"fc{index}", activation="relu")(x)
    if dueling:
        value = keras.layers.Dense(1, activation="linear")(x)
        advantage = keras.layers.Dense(n_actions, activation="linear")(x)
        output = keras.layers.Lambda(
            lambda t: t[0] + t[1] - keras.ops.mean(t[1], axis=1, keepdims=True),
            output_shape=(n_actions,), name="output")([value, advantage])
    else:
        output = keras.layers.Dense(units=n_actions, name="output")(x)
    model = keras.Model(inputs=[frames_input], outputs=[output], name="model")
    _randomise_biases(model, seed)
    return model


def _randomise_biases(model: keras.Model, seed: int) -> None:
    """Keras initialises biases to zero; random ones make a misplaced bias visible in the tests."""
    rng = np.random.default_rng(seed)
    model.set_weights([w if w.ndim > 1 else rng.normal(0, 0.05, w.shape).astype(np.float32)
                       for w in model.get_weights()])
