"""The Keras of the era a fixture script runs in (run by that runtime's own interpreter, beside era_families.py and
era_layers.py): Keras 3 where TensorFlow >= 2.16 and no TF_USE_LEGACY_KERAS, else tf.keras (Keras 2)."""

import os

import tensorflow as tf

KERAS3 = not os.environ.get("TF_USE_LEGACY_KERAS") and tuple(int(v) for v in tf.__version__.split(".")[:2]) >= (2, 16)
if KERAS3:
    import keras
    from keras import ops
else:
    keras = tf.keras
    ops = None
L = keras.layers
