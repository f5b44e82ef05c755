"""Write a trained notebook-style model with the TensorFlow of its era: run by a runtime's own interpreter.

    python era_models.py SPEC_JSON

SPEC: {"out": folder, "seed": 0, "max_pool": false, "dense_units": [512, 256], "dueling": false,
       "dense_activation": "relu", "output_activation": "linear", "dueling_merge": "mean" | "sum",
       "h5": true, "inputs": "inputs.npy" or null}
Writes out/saved_model/ (model.save(dir): Keras 2's SavedModel, optimizer state included after one Adam step)
and out/model.h5, and, if inputs are given, out/q_values.npy: the model's own Q-values on them.
Python 3.7 and tf.keras 2.x only (TensorFlow 2.3 - 2.15): this is the competitor's 2020 training code.
"""

import json
import sys

import numpy as np
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="my_training_code")
class SplitLayer(tf.keras.layers.Layer):
    def __init__(self, split_dim=3, **kwargs):
        super().__init__(**kwargs)
        self.split_dim = split_dim

    def call(self, inputs):
        return [tf.expand_dims(inputs[..., i], self.split_dim) for i in range(inputs.shape[self.split_dim])]

    def get_config(self):
        config = super().get_config()
        config["split_dim"] = self.split_dim
        return config


def notebook_model(spec):
    tf.random.set_seed(spec.get("seed", 0))
    frames_input = tf.keras.layers.Input(name="input", shape=(72, 96, 4))
    branches = []
    for f, frame in enumerate(SplitLayer(split_dim=3)(frames_input)):
        x = frame
        for depth, (filters, kernel, stride) in enumerate(((16, 8, 4), (24, 4, 2), (32, 3, 1)), start=1):
            x = tf.keras.layers.Conv2D(filters, kernel_size=(kernel, kernel), strides=(stride, stride),
                                       name=f"conv{depth}_frame_{f}", padding="same", activation="relu")(x)
            if spec.get("max_pool"):
                x = tf.keras.layers.MaxPooling2D(pool_size=(2, 2), padding="same")(x)
        branches.append(tf.keras.layers.Flatten(name=f"flatten_{f}")(x))
    x = tf.keras.layers.concatenate(branches)
    for index, units in enumerate(spec.get("dense_units", [512, 256]), start=1):
        x = tf.keras.layers.Dense(units, name=f"fc{index}", activation=spec.get("dense_activation", "relu"))(x)
    if spec.get("dueling"):
        value = tf.keras.layers.Dense(1)(x)
        advantage = tf.keras.layers.Dense(19)(x)
        if spec.get("dueling_merge") == "sum":  # Q = V + A: same shapes as the usual head, different values
            merge = lambda t: t[0] + t[1]  # noqa: E731
        else:
            merge = lambda t: t[0] + t[1] - tf.reduce_mean(t[1], axis=1, keepdims=True)  # noqa: E731
        output = tf.keras.layers.Lambda(merge, name="output")([value, advantage])
    else:
        output = tf.keras.layers.Dense(19, name="output", activation=spec.get("output_activation", "linear"))(x)
    return tf.keras.Model(inputs=[frames_input], outputs=[output], name="model")


def main():
    spec = json.loads(sys.argv[1])
    model = notebook_model(spec)
    rng = np.random.RandomState(spec.get("seed", 0))
    # Random biases make a misplaced bias visible; then one Adam step, so the files carry optimizer state.
    model.set_weights([w if w.ndim > 1 else rng.normal(0, 0.05, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-4), loss="mse")
    batch = rng.choice([-1.0, 0.0, 1.0], size=(4, 72, 96, 4), p=[0.05, 0.9, 0.05]).astype(np.float32)
    model.train_on_batch(batch, rng.normal(size=(4, 19)).astype(np.float32))
    out = spec["out"]
    if spec.get("savedmodel", True):
        model.save(out + "/saved_model")
    if spec.get("h5", True):
        model.save(out + "/model.h5")
    if spec.get("inputs"):
        inputs = np.load(spec["inputs"])
        np.save(out + "/q_values.npy", model.predict(inputs, batch_size=32))
    print(json.dumps({"tensorflow": tf.__version__}))


if __name__ == "__main__":
    main()
