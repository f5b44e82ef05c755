"""Run the user's model itself on given inputs, inside a runtime whose TensorFlow / Keras can execute it.

    python -I source_worker.py SPEC_JSON      (Python 3.7+, the runtime's own TensorFlow; no gfsub needed)

SPEC: {"kind": "savedmodel" | "keras" | "json", "model": path, "split_classes": [class names], "serve": true for
       one step at a time over stdin (a .keras / .h5 / JSON model; see serve()),
       "inputs": .npz (arr_0, arr_1, ...: one array per model input, in order), "output": .npy,
       "output_index": i (which model output), "output_name": name (a SavedModel signature's key),
       "input_names": [...] (a SavedModel signature's keys),
       "weights": path (kind json: a Keras weights file, or an .npz of get_weights() arrays),
       "variables": .npz (kind savedmodel: dump a Keras 3 export's variables there, nothing run; see dump_variables)}
A SavedModel runs through its own serving signature. A Keras file (.keras, .h5) is loaded by that runtime's Keras,
and a model JSON (`model.to_json()`) rebuilt by it with `model_from_json` and given its weights by Keras itself
(`load_weights`, or `set_weights` in get_weights() order), with the user's split-layer class (whatever name their
code registered) mapped to a plain split: every other layer is the model's own. Prints one JSON line saying what ran.
"""

import json
import os
import sys

import numpy as np


def keras_module(tf):
    """The Keras that wrote files of this runtime's era: tf_keras under TF_USE_LEGACY_KERAS=1, Keras 3 where it is
    the one installed, else tf.keras."""
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
        return tf.keras, getattr(tf.keras, "__version__", "2")
    try:
        import keras as standalone

        if standalone.__version__.startswith("3."):
            return standalone, standalone.__version__
    except ImportError:
        pass
    return tf.keras, getattr(tf.keras, "__version__", "")


def split_layer_class(keras, tf):
    class PlainSplit(keras.layers.Layer):
        """Split the last axis into (..., 1) tensors; accepts (and ignores) the user's own config keys."""

        def __init__(self, name=None, trainable=True, dtype=None, **ignored):
            super().__init__(name=name, trainable=trainable, dtype=dtype)

        def call(self, inputs):
            return tf.split(inputs, num_or_size_splits=int(inputs.shape[-1]), axis=-1)

    return PlainSplit


def custom_objects(keras, tf, spec):
    """The names a training script's Lambda layers use (keras, tf, np, K), and the user's split class."""
    custom = {"keras": keras, "tf": tf, "np": np, "numpy": np, "K": keras.backend}
    custom.update({name: split_layer_class(keras, tf) for name in spec.get("split_classes", [])})
    return custom


def allow_lambdas(keras, custom):
    """Keras 3 refuses saved lambdas unless told, and gives them the globals of its own module, where the names
    the training script used are missing: add them there, or the user's own model cannot run."""
    keras.config.enable_unsafe_deserialization()
    from keras.src.utils import python_utils

    for name in ("keras", "tf", "np", "numpy", "K"):
        if not hasattr(python_utils, name):
            setattr(python_utils, name, custom[name])


def run_savedmodel(tf, spec, inputs):
    loaded = tf.saved_model.load(spec["model"])
    signature = loaded.signatures["serving_default"]
    keys = list(signature.structured_input_signature[1].keys())
    names = spec.get("input_names") or keys
    if len(keys) == 1:
        names = keys
    outputs = []
    for start in range(0, len(inputs[0]), 64):
        feed = {name: tf.constant(x[start:start + 64]) for name, x in zip(names, inputs)}
        result = signature(**feed)
        key = spec.get("output_name") if spec.get("output_name") in result else sorted(result)[0]
        if len(result) > 1 and spec.get("output_name") not in result:
            raise KeyError("the signature's outputs {} do not name {}".format(sorted(result), spec.get("output_name")))
        outputs.append(result[key].numpy())
    return np.concatenate(outputs), "its serving signature"


def load_keras_model(tf, spec):
    keras, version = keras_module(tf)
    custom = custom_objects(keras, tf, spec)
    if version.startswith("3."):
        allow_lambdas(keras, custom)
    if spec["kind"] == "json":
        with open(spec["model"]) as handle:
            model = keras.models.model_from_json(handle.read(), custom_objects=custom)
        if spec["weights"].endswith(".npz"):
            with np.load(spec["weights"]) as arrays:
                model.set_weights([arrays[f"arr_{i}"] for i in range(len(arrays.files))])
        else:
            model.load_weights(spec["weights"])
        return model, "rebuilt from its JSON by Keras " + version
    options = {"custom_objects": custom, "compile": False}
    if version.startswith("3."):
        options["safe_mode"] = False  # the user's own Lambda layers (e.g. a dueling merge) run as saved
    return keras.models.load_model(spec["model"], **options), "Keras " + version


def run_keras(tf, spec, inputs):
    model, how = load_keras_model(tf, spec)
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=64, verbose=0)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[spec.get("output_index", 0)]
    elif isinstance(outputs, dict):
        outputs = outputs[spec["output_name"]]
    return np.asarray(outputs), how


def serve(tf, spec):
    """One step per request: a line on stdin names an .npz of the model's inputs (arr_0, ...); every output is
    written to that path + ".out.npz" (arr_0, ... in the model's output order) and "ok" printed. An empty line ends."""
    model, how = load_keras_model(tf, spec)
    print(json.dumps({"ran": how, "tensorflow": tf.__version__}), flush=True)
    for line in sys.stdin:
        path = line.strip()
        if not path:
            break
        with np.load(path) as archive:
            inputs = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        outputs = model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        np.savez(path + ".out.npz", *[np.asarray(x) for x in outputs])
        print("ok", flush=True)


def dump_variables(tf, spec):
    """A SavedModel that Keras 3 exported (model.export: no Keras config in it): its variables, in the order the
    loaded object tracks them, to spec["variables"] (.npz: arr_0, ...); their names printed."""
    loaded = tf.saved_model.load(spec["model"])
    variables = list(getattr(loaded, "variables", []))
    np.savez(spec["variables"], *[variable.numpy() for variable in variables])
    print(json.dumps({"names": [variable.name for variable in variables], "tensorflow": tf.__version__}))


def main():
    spec = json.loads(sys.argv[1])
    import tensorflow as tf

    if spec.get("variables"):
        dump_variables(tf, spec)
        return
    if spec.get("serve"):
        serve(tf, spec)
        return
    with np.load(spec["inputs"]) as archive:
        inputs = [archive[f"arr_{i}"].astype(np.float32) for i in range(len(archive.files))]
    runner = run_savedmodel if spec["kind"] == "savedmodel" else run_keras
    values, how = runner(tf, spec, inputs)
    np.save(spec["output"], np.asarray(values, dtype=np.float32).reshape(len(inputs[0]), -1))
    print(json.dumps({"ran": how, "tensorflow": tf.__version__}))


if __name__ == "__main__":
    main()
