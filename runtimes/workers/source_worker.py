"""Run the user's saved model itself on given inputs, inside a runtime whose TensorFlow can execute it.

    python source_worker.py SPEC_JSON      (Python 3.7+, the runtime's own TensorFlow; no gfsub needed)

SPEC: {"model": path, "kind": "savedmodel" | "keras", "split_classes": [class names], "inputs": .npy,
       "output": .npy}. A SavedModel is called through its own serving signature. A Keras file (.keras, .h5) is
loaded by that TensorFlow's Keras, with the user's split-layer class (whatever name their code registered)
mapped to a plain split: every other layer is the file's own. Prints one JSON line describing what ran.
"""

import json
import sys

import numpy as np


def split_layer_class(tf):
    class PlainSplit(tf.keras.layers.Layer):
        """Split the last axis into (..., 1) tensors; accepts (and ignores) the user's own config keys."""

        def __init__(self, name=None, trainable=True, dtype=None, **ignored):
            super().__init__(name=name, trainable=trainable, dtype=dtype)

        def call(self, inputs):
            return tf.split(inputs, num_or_size_splits=int(inputs.shape[-1]), axis=-1)

    return PlainSplit


def run_savedmodel(tf, spec, inputs):
    loaded = tf.saved_model.load(spec["model"])
    signature = loaded.signatures["serving_default"]
    (name,) = signature.structured_input_signature[1].keys()
    outputs = []
    for start in range(0, len(inputs), 64):
        result = signature(**{name: tf.constant(inputs[start:start + 64])})
        (values,) = result.values()
        outputs.append(values.numpy())
    return np.concatenate(outputs), "its serving signature"


def run_keras_file(tf, spec, inputs):
    keras, version = tf.keras, getattr(tf.keras, "__version__", "")
    try:
        import keras as standalone

        version = standalone.__version__
        if version.startswith("3."):
            keras = standalone
    except ImportError:
        pass
    # The names a training script's Lambda layers (say, a dueling merge) use, for their saved code to find.
    custom = {"keras": keras, "tf": tf, "np": np, "numpy": np, "K": keras.backend}
    custom.update({name: split_layer_class(tf) for name in spec["split_classes"]})
    options = {"custom_objects": custom, "compile": False}
    if version.startswith("3."):
        options["safe_mode"] = False  # the user's own Lambda layers (e.g. a dueling merge) run as saved
        keras.config.enable_unsafe_deserialization()
        # Keras 3 gives a saved lambda the globals of its own python_utils module, where the names the training
        # script used (keras, tf, np) are missing: add them there, or the user's own model cannot run.
        from keras.src.utils import python_utils

        for name in ("keras", "tf", "np", "numpy", "K"):
            if not hasattr(python_utils, name):
                setattr(python_utils, name, custom[name])
    model = keras.models.load_model(spec["model"], **options)
    return np.asarray(model.predict(inputs, batch_size=64, verbose=0)), "Keras " + version


def main():
    spec = json.loads(sys.argv[1])
    import tensorflow as tf

    inputs = np.load(spec["inputs"]).astype(np.float32)
    runner = run_savedmodel if spec["kind"] == "savedmodel" else run_keras_file
    q_values, how = runner(tf, spec, inputs)
    np.save(spec["output"], np.asarray(q_values, dtype=np.float32))
    print(json.dumps({"ran": how, "tensorflow": tf.__version__}))


if __name__ == "__main__":
    main()
