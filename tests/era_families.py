"""The model families competitors train for Kaggle football, written and trained by the Keras of a runtime's era.

    python era_families.py SPEC_JSON      (a runtime's interpreter: TF 2.3 / 2.15 / tf_keras, or Keras 3)

SPEC: {"out": folder, "families": [names], "data": {name: .npz of training inputs (arr_0, ...)},
       "check": {name: [.npz of inputs, ...]}, "formats": ["h5", "savedmodel", "keras"], "size": "test" | "bench",
       "weights_only": true to also write OUT/NAME.json (model.to_json()), OUT/NAME-weights.npz (get_weights())
       and OUT/NAME.weights.h5 (save_weights)}
Each family is fitted for a few epochs to random targets that depend on its inputs (an untrained net's argmax is
nearly constant and would hide a pipeline bug), then saved as OUT/NAME.h5, OUT/NAME.savedmodel/ (Keras 2) or
OUT/NAME.keras (Keras 3), with OUT/NAME-check-K.npy: the saved model's own predictions on each check set (a model
with two outputs: the first, its 19 logits). Python 3.7 and tf.keras 2.x, or Keras 3.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from era_keras import KERAS3, L, keras, ops  # beside this script, which its runtime runs by path

SIZES = {"test": {"filters": (8, 16, 16), "units": 64, "impala": (8, 16)},
         "bench": {"filters": (32, 64, 64), "units": 512, "impala": (16, 32, 32)}}


def rescaling(scale):
    return (getattr(L, "Rescaling", None) or L.experimental.preprocessing.Rescaling)(scale)


def dense_simple115(size):
    x = keras.Input((115,), name="simple115")
    y = L.Dense(size["units"], activation="relu")(x)
    return keras.Model(x, L.Dense(19, name="q")(L.Dense(size["units"], activation="relu")(y)), name="dense_simple115")


def simple115_stack2(size):
    x = keras.Input((115, 2), name="two_frames")
    y = L.Dense(size["units"], activation="tanh")(L.Flatten()(x))
    return keras.Model(x, L.Dense(19, name="q")(y), name="simple115_stack2")


def nature_cnn(size):
    """OpenAI baselines' nature CNN on 4 stacked SMM frames: /255 inside the model, valid padding."""
    a, b, c = size["filters"]
    x = keras.Input((72, 96, 16), name="smm_stack")
    y = rescaling(1 / 255.0)(x)
    y = L.Conv2D(a, 8, strides=4, activation="relu")(y)
    y = L.Conv2D(b, 4, strides=2, activation="relu")(y)
    y = L.Conv2D(c, 3, strides=1, activation="relu")(y)
    y = L.Dense(size["units"], activation="relu")(L.Flatten()(y))
    return keras.Model(x, L.Dense(19, name="q")(y), name="nature_cnn")


def impala(size):
    """SEED RL / gfootball's impala CNN: 3x3 same convolutions, 3x3/2 max-pools, residual Adds; logits and value."""
    x = keras.Input((72, 96, 16), name="smm_stack")
    y = rescaling(1 / 255.0)(x)
    for depth in size["impala"]:
        y = L.MaxPooling2D(3, strides=2, padding="same")(L.Conv2D(depth, 3, padding="same")(y))
        for _ in range(2):
            block = L.Conv2D(depth, 3, padding="same")(L.ReLU()(y))
            block = L.Conv2D(depth, 3, padding="same")(L.ReLU()(block))
            y = L.Add()([y, block])
    y = L.Dense(size["units"], activation="relu")(L.Flatten()(L.ReLU()(y)))
    return keras.Model(x, [L.Dense(19, name="logits")(y), L.Dense(1, name="value")(y)], name="impala")


def two_input(size):
    """An SMM frame difference beside the simple115 vector (the notebook author's SimpleAndSMMObsWrapper)."""
    a, b, _ = size["filters"]
    smm, vector = keras.Input((72, 96, 4), name="smm"), keras.Input((115,), name="simple115")
    y = L.Conv2D(a, 8, strides=4, padding="same", activation="relu")(smm)
    y = L.Conv2D(b, 4, strides=2, padding="same", activation="relu")(y)
    y = L.Dense(size["units"], activation="relu")(L.Concatenate()([L.Flatten()(y), vector]))
    return keras.Model([smm, vector], L.Dense(19, name="q")(y), name="two_input")


def batchnorm_cnn(size):
    a, b, _ = size["filters"]
    x = keras.Input((72, 96, 4), name="smm")
    y = L.ReLU()(L.BatchNormalization(momentum=0.5)(L.Conv2D(a, 5, strides=3, padding="same")(x)))
    y = L.ReLU()(L.BatchNormalization(momentum=0.5)(L.Conv2D(b, 3, strides=2, padding="same")(y)))
    return keras.Model(x, L.Dense(19, name="q")(L.Flatten()(y)), name="batchnorm_cnn")


def sequential_elu(size):
    return keras.Sequential([keras.Input((115,)), L.Dense(size["units"], activation="elu"), L.Dropout(0.1),
                             L.Dense(size["units"], activation="elu"), L.Dense(19)], name="sequential_elu")


def functional_ops(size):
    """tf.nn / keras.ops calls in the model code: relu, + a constant, a slice."""
    x = keras.Input((115,), name="simple115")
    y = L.Dense(size["units"])(x)
    y = (ops.relu(y) if KERAS3 else tf.nn.relu(y)) + 0.5
    y = y[:, : size["units"] // 2]
    return keras.Model(x, L.Dense(19, name="q")(y), name="functional_ops")


def lstm_frames(size):
    """An LSTM over the last 8 simple115 frames (stacked on a new last axis, turned to time first)."""
    x = keras.Input((115, 8), name="frames")
    y = L.LSTM(size["units"])(L.Permute((2, 1))(x))
    return keras.Model(x, L.Dense(19, name="q")(y), name="lstm_frames")


def gru_frames(size):
    """A GRU (TensorFlow 2's reset_after=True) over 8 concatenated simple115 frames, reshaped to (time, features)."""
    x = keras.Input((920,), name="frames")
    y = L.GRU(size["units"], reset_after=True)(L.Reshape((8, 115))(x))
    return keras.Model(x, L.Dense(19, name="q")(y), name="gru_frames")


def gru_reset_before(size):
    """Two GRUs with reset_after=False (Keras 2.2's default), the first returning its sequence."""
    x = keras.Input((115, 4), name="frames")
    y = L.GRU(size["units"] // 2, reset_after=False, return_sequences=True)(L.Permute((2, 1))(x))
    y = L.GRU(size["units"] // 2, reset_after=False, go_backwards=True)(y)
    return keras.Model(x, L.Dense(19, name="q")(y), name="gru_reset_before")


def simple_rnn_frames(size):
    """SimpleRNNs over 4 frames: a Bidirectional one returning sequences, then one more."""
    x = keras.Input((460,), name="frames")
    y = L.Bidirectional(L.SimpleRNN(size["units"] // 2, return_sequences=True))(L.Reshape((4, 115))(x))
    y = L.SimpleRNN(size["units"] // 2, activation="relu")(y)
    return keras.Model(x, L.Dense(19, name="q")(y), name="simple_rnn_frames")


def lstm_state(size):
    """return_state=True: the Q head reads the final h and c, and the model outputs them too (a recurrent agent's
    memory for the next step), after its 19 Q-values."""
    x = keras.Input((115, 8), name="frames")
    sequence, h, c = L.LSTM(size["units"] // 2, return_sequences=True, return_state=True)(L.Permute((2, 1))(x))
    y = L.Concatenate()([L.Flatten()(sequence), h, c])
    return keras.Model(x, [L.Dense(19, name="q")(y), h, c], name="lstm_state")


FAMILIES = {f.__name__: f for f in (dense_simple115, simple115_stack2, nature_cnn, impala, two_input, batchnorm_cnn,
                                   sequential_elu, functional_ops, lstm_frames, gru_frames, gru_reset_before,
                                   simple_rnn_frames, lstm_state)}


def load(npz):
    with np.load(npz) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def fit(model, inputs, seed):
    """A few epochs towards random targets that are a fixed random function of the inputs. A second output of one
    value (a value head) is trained too; wider ones (a recurrent layer's states) are not."""
    rng = np.random.RandomState(seed)
    flat = np.concatenate([x.reshape(len(x), -1) for x in inputs], axis=1)
    projection = rng.normal(size=(flat.shape[1], 19)).astype(np.float32) / np.sqrt(1.0 + flat.shape[1] / 50.0)
    target = np.tanh(flat @ projection) * 3.0
    widths = [int(out.shape[-1]) for out in model.outputs[1:]]
    targets = [target] + [np.repeat(target[:, :1], width, axis=1) for width in widths]
    losses = {"loss": "mse"}
    if widths:
        losses = {"loss": ["mse"] * len(targets), "loss_weights": [1.0] + [float(width == 1) for width in widths]}
    model.compile(optimizer=keras.optimizers.Adam(3e-3), **losses)
    feed = inputs if len(inputs) > 1 else inputs[0]
    model.fit(feed, targets if len(targets) > 1 else targets[0], epochs=4, batch_size=32, verbose=0)


def reload(path, kind):
    if kind == "savedmodel":
        return None
    options = {"compile": False}
    if KERAS3:
        options["safe_mode"] = False
    return keras.models.load_model(path, **options)


def main():
    spec = json.loads(sys.argv[1])
    out = spec["out"]
    size = SIZES[spec.get("size", "test")]
    written = {}
    for index, name in enumerate(spec["families"]):
        tf.random.set_seed(index)
        model = FAMILIES[name](size)
        fit(model, load(spec["data"][name]), index)
        paths = []
        for kind in spec["formats"]:
            path = os.path.join(out, name + {"h5": ".h5", "savedmodel": ".savedmodel", "keras": ".keras"}[kind])
            model.save(path)
            paths.append(path)
        if spec.get("weights_only"):  # the model's JSON, and its weights without it: two ways
            with open(os.path.join(out, name + ".json"), "w") as handle:
                handle.write(model.to_json())
            np.savez(os.path.join(out, name + "-weights.npz"), *model.get_weights())
            model.save_weights(os.path.join(out, name + ".weights.h5"))
        saved = reload(paths[0], spec["formats"][0]) or model
        for k, check in enumerate(spec["check"][name]):
            inputs = load(check)
            values = saved.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=64, verbose=0)
            values = values[0] if isinstance(values, list) else values
            np.save(os.path.join(out, f"{name}-check-{k}.npy"), np.asarray(values, dtype=np.float32))
        written[name] = paths
    with open(os.path.join(out, "written.json"), "w") as handle:
        json.dump({"written": written, "tensorflow": tf.__version__}, handle)


if __name__ == "__main__":
    main()
