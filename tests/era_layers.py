"""Small models of every layer type gfsub reproduces, written by the Keras of a runtime's era, with their own outputs.

    python era_layers.py OUT_FOLDER      (run by a runtime's interpreter: TF 2.3 / 2.15 / tf_keras, or Keras 3)

For each model NAME: OUT/NAME.h5 (Keras 2) or OUT/NAME.keras (Keras 3), OUT/NAME-inputs.npz (random inputs, one array
per model input) and OUT/NAME-outputs.npy (the model's own predict on them). OUT/written.json lists what was
written and what this Keras does not have. Python 3.7 and tf.keras 2.x, or Keras 3.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from era_keras import KERAS3, L, keras, ops  # beside this script, which its runtime runs by path

RNG = np.random.RandomState(0)
ACTIVATIONS = ["relu", "relu6", "elu", "selu", "gelu", "swish", "silu", "tanh", "sigmoid", "hard_sigmoid",
               "softplus", "softsign", "softmax", "leaky_relu", "linear"]


def preprocessing(name):
    return getattr(L, name, None) or getattr(L.experimental.preprocessing, name)


def dense():
    x = keras.Input((12,))
    return keras.Model(x, L.Dense(5, use_bias=False)(L.Dense(8, activation="relu")(x)), name="dense")


def activations():
    x = keras.Input((12,))
    branches, missing = [], []
    for name in ACTIVATIONS:
        try:
            branches.append(L.Dense(6, activation=name)(x))
        except (ValueError, AttributeError, KeyError):
            missing.append(name)
    return keras.Model(x, L.Concatenate()(branches), name="activations"), missing


def conv():
    x = keras.Input((12, 16, 3))
    y = L.Conv2D(4, 3, strides=2, padding="same")(x)
    y = L.Conv2D(5, (3, 2), padding="valid", activation="tanh")(y)
    y = L.MaxPooling2D(2, padding="same")(y)
    y = L.AveragePooling2D((2, 2), strides=1, padding="same")(y)
    return keras.Model(x, L.Dense(4)(L.Flatten()(y)), name="conv")


def pools():
    x = keras.Input((12, 16, 3))
    y = L.AveragePooling2D(3, strides=2, padding="valid")(x)
    z = L.MaxPooling2D((3, 2), strides=(2, 3), padding="same")(x)
    parts = [L.GlobalAveragePooling2D()(y), L.GlobalMaxPooling2D()(z), L.Flatten()(z)]
    return keras.Model(x, L.Concatenate()(parts), name="pools")


def reshaping():
    vector, image = keras.Input((24,)), keras.Input((12, 16, 3))
    a = L.Flatten()(L.Permute((2, 1))(L.Reshape((4, 6))(vector)))
    b = L.Flatten()(L.Cropping2D(((1, 0), (2, 1)))(L.ZeroPadding2D(((1, 2), (0, 1)))(image)))
    return keras.Model([vector, image], L.Concatenate()([a, L.Dense(3)(b)]), name="reshaping")


def merges():
    a, b = keras.Input((6,)), keras.Input((6,))
    p, q = L.Dense(5)(a), L.Dense(5)(b)
    parts = [L.Add()([p, q]), L.Subtract()([p, q]), L.Multiply()([p, q]), L.Average()([p, q]),
             L.Maximum()([p, q]), L.Minimum()([p, q]), L.Concatenate()([p, q])]
    return keras.Model([a, b], L.Concatenate()(parts), name="merges")


def norms():
    x = keras.Input((12, 16, 3))
    y = L.BatchNormalization()(L.Conv2D(4, 3, padding="same")(x))
    y = L.LayerNormalization()(L.Flatten()(y))
    y = preprocessing("Rescaling")(0.5, offset=0.1)(y)
    normalization = preprocessing("Normalization")()
    normalization.adapt(RNG.normal(2.0, 3.0, size=(64, y.shape[-1])).astype(np.float32))
    return keras.Model(x, L.Dense(4)(normalization(y)), name="norms")


def dropouts():
    x = keras.Input((12, 16, 3))
    y = L.SpatialDropout2D(0.3)(L.Conv2D(4, 3, activation="relu")(x))
    y = L.GaussianDropout(0.2)(L.GaussianNoise(0.5)(L.Flatten()(y)))
    return keras.Model(x, L.Dense(3)(L.Dropout(0.5)(y)), name="dropouts")


def activation_layers():
    x = keras.Input((12, 16, 3))
    y = L.Conv2D(4, 3, padding="same")(x)
    parts = [L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2)(y), L.LeakyReLU(0.25)(y), L.ELU(0.7)(y),
             L.PReLU(shared_axes=[1, 2])(y), L.Softmax(axis=-1)(y), L.Activation("tanh")(y)]
    return keras.Model(x, L.Concatenate()([L.Flatten()(p) for p in parts]), name="activation_layers")


def functional_ops():
    """tf.nn / tf.math calls on Keras tensors (Keras 2: TensorFlowOpLayer in TF 2.3, TFOpLambda later), or
    keras.ops calls (Keras 3)."""
    x = keras.Input((12,))
    y = L.Dense(10)(x)
    if KERAS3:
        y = ops.relu(y) + 1.0
        y = y[:, 2:8] * 0.5
        y = y - ops.mean(y, axis=1, keepdims=True)
    else:
        y = tf.nn.relu(y) + 1.0
        y = y[:, 2:8] * 0.5
        y = y - tf.reduce_mean(y, axis=1, keepdims=True)
    return keras.Model(x, L.Dense(4)(y), name="functional_ops")


def dueling_lambda():
    x = keras.Input((12,))
    h = L.Dense(8, activation="relu")(x)
    value, advantage = L.Dense(1)(h), L.Dense(5)(h)
    if KERAS3:
        merge = L.Lambda(lambda t: t[0] + t[1] - ops.mean(t[1], axis=1, keepdims=True), output_shape=(5,))
    else:
        merge = L.Lambda(lambda t: t[0] + t[1] - tf.reduce_mean(t[1], axis=1, keepdims=True))
    return keras.Model(x, merge([value, advantage]), name="dueling_lambda")


def shared_layer():
    """One Dense layer called on two inputs (its second call reads a layer the config lists after it)."""
    a, b = keras.Input((6,)), keras.Input((6,))
    shared = L.Dense(4, activation="tanh")
    return keras.Model([a, b], L.Concatenate()([shared(L.Dense(6)(a)), shared(b)]), name="shared_layer")


def recurrent():
    """LSTM, GRU (reset_after both ways) and SimpleRNN, backwards, with sequences, in a Bidirectional of each merge."""
    x = keras.Input((6, 5))
    sequence = L.LSTM(4, return_sequences=True, go_backwards=True)(x)
    parts = [L.GRU(3, reset_after=True)(sequence), L.GRU(3, reset_after=False, return_sequences=True)(sequence),
             L.SimpleRNN(3, activation="relu")(sequence),
             L.Bidirectional(L.LSTM(2, return_sequences=True))(x),
             L.Bidirectional(L.GRU(2, reset_after=False), merge_mode="sum")(sequence),
             L.Bidirectional(L.SimpleRNN(2, return_sequences=True), merge_mode="mul")(x),
             L.Bidirectional(L.GRU(2), merge_mode="ave")(x)]
    return keras.Model(x, L.Concatenate()([L.Flatten()(p) for p in parts]), name="recurrent")


def recurrent_state():
    """return_state, and initial_state fed from other inputs and from another layer's states."""
    x, h0, c0 = keras.Input((6, 5)), keras.Input((4,)), keras.Input((4,))
    sequence, h, c = L.LSTM(4, return_sequences=True, return_state=True)(x, initial_state=[h0, c0])
    out, gru_h = L.GRU(4, return_state=True)(sequence, initial_state=[h])
    both = L.Bidirectional(L.SimpleRNN(4, return_state=True))(sequence, initial_state=[c, gru_h])
    parts = [L.Flatten()(sequence), h, c, out, gru_h] + list(both)
    return keras.Model([x, h0, c0], L.Concatenate()(parts), name="recurrent_state")


def sequential():
    return keras.Sequential([keras.Input((12,)), L.Dense(8, activation="elu"), L.Dropout(0.2), L.Dense(4)],
                            name="sequential")


BUILDERS = [dense, activations, conv, pools, reshaping, merges, norms, dropouts, activation_layers,
            functional_ops, dueling_lambda, shared_layer, recurrent, recurrent_state, sequential]


def randomise(model):
    """Random weights, biases included, and BatchNormalization statistics (variances positive)."""
    values = []
    for weight, variable in zip(model.get_weights(), model.weights):
        name = getattr(variable, "path", None) or variable.name
        if "normalization/" in name and "batch" not in name and "layer" not in name:
            values.append(weight)  # an adapted Normalization keeps what adapt() found (Keras 3 derives from it)
        elif "variance" in name:
            values.append(RNG.uniform(0.5, 2.0, weight.shape).astype(np.float32))
        elif "count" in name:
            values.append(weight)
        else:
            values.append(RNG.normal(0, 0.5, weight.shape).astype(np.float32))
    model.set_weights(values)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    written, missing = [], []
    for builder in BUILDERS:
        built = builder()
        model, lacking = built if isinstance(built, tuple) else (built, [])
        missing += lacking
        randomise(model)
        inputs = [RNG.normal(0, 1.5, size=(16,) + tuple(int(d) for d in x.shape[1:])).astype(np.float32)
                  for x in model.inputs]
        path = os.path.join(out, model.name + (".keras" if KERAS3 else ".h5"))
        model.save(path)
        np.savez(os.path.join(out, model.name + "-inputs.npz"), *inputs)
        np.save(os.path.join(out, model.name + "-outputs.npy"), model.predict(inputs if len(inputs) > 1 else
                                                                              inputs[0], verbose=0))
        written.append(os.path.basename(path))
    with open(os.path.join(out, "written.json"), "w") as handle:
        json.dump({"written": written, "missing_activations": missing, "tensorflow": tf.__version__}, handle)


if __name__ == "__main__":
    main()
