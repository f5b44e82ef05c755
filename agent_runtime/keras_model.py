"""The graph as a tf.keras model, and a graph-compiled forward pass: main.py's `--backend keras`.

Only `tf.keras` APIs that Keras 2 (TensorFlow 2.3 - 2.15) and Keras 3 (TensorFlow 2.16+) share: standard layers for
the layers with weights, and one small custom layer whose `call` is plain TensorFlow for the others. So the same
code runs on Kaggle's 2020 image (tf.keras 2.4, Python 3.7) and on today's (Keras 3).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# main.py runs under exec() without a source file: AutoGraph could not read these `call`s and Keras 2 would
# log a warning for each custom layer. They hold no Python control flow, so there is nothing to convert.
# Keras 2 then sees the wrapper's (*args, **kwargs) signature and passes `training=`: `call` takes **kwargs.
_plain_tf = tf.autograph.experimental.do_not_convert


def _erf_gelu(x):
    return 0.5 * x * (1.0 + tf.math.erf(x / np.float32(np.sqrt(2.0))))


TF_ACTIVATIONS = {
    "linear": lambda x: x, "relu": tf.nn.relu, "relu6": tf.nn.relu6, "elu": tf.nn.elu, "selu": tf.nn.selu,
    "gelu": _erf_gelu, "silu": lambda x: x * tf.math.sigmoid(x), "swish": lambda x: x * tf.math.sigmoid(x),
    "tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid, "softplus": tf.math.softplus, "softsign": tf.math.softsign,
    "softmax": tf.nn.softmax, "leaky_relu": lambda x: tf.nn.leaky_relu(x, alpha=0.2),
    "hard_sigmoid": lambda x: tf.nn.relu6(x + 3.0) / 6.0,
    "hard_sigmoid_keras2": lambda x: tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + tf.math.tanh(np.float32(np.sqrt(2.0 / np.pi)) * (x + 0.044715 * x ** 3))),
}


def _reduce(node, x):
    functions = {"mean": tf.reduce_mean, "max": tf.reduce_max, "min": tf.reduce_min, "sum": tf.reduce_sum}
    return functions[node["how"]](x, axis=node.get("axis"), keepdims=bool(node.get("keepdims")))


def _slice(node, x):
    return x[tuple(slice(*item) if isinstance(item, list) else item for item in node["index"])]


def _leaky(node, x):
    return tf.where(x > 0, x, node["negative_slope"] * x)


def _elu(node, x):
    return tf.where(x > 0, x, node["alpha"] * (tf.exp(tf.minimum(x, 0.0)) - 1.0))


def _relu_layer(node, x):
    out = tf.where(x >= node.get("threshold", 0.0), x, node.get("negative_slope", 0.0) * (x - node.get("threshold",
                                                                                                      0.0)))
    return out if node.get("max_value") is None else tf.minimum(out, node["max_value"])


# Layers without weights, each a TensorFlow expression of its node and inputs.
TF_OPS = {
    "flatten": lambda n, xs: tf.reshape(xs[0], [-1, int(np.prod(xs[0].shape[1:]))]),
    "reshape": lambda n, xs: tf.reshape(xs[0], [-1] + list(n["shape"])),
    "permute": lambda n, xs: tf.transpose(xs[0], [0] + list(n["dims"])),
    "zero_pad2d": lambda n, xs: tf.pad(xs[0], [[0, 0]] + [list(p) for p in n["padding"]] + [[0, 0]]),
    "crop2d": lambda n, xs: xs[0][:, n["cropping"][0][0]:xs[0].shape[1] - n["cropping"][0][1],
                                  n["cropping"][1][0]:xs[0].shape[2] - n["cropping"][1][1], :],
    "concatenate": lambda n, xs: tf.concat(xs, axis=n.get("axis", -1)),
    "add": lambda n, xs: tf.add_n(xs) if len(xs) > 2 else xs[0] + xs[1],
    "subtract": lambda n, xs: xs[0] - xs[1], "multiply": lambda n, xs: xs[0] * xs[1] if len(xs) == 2 else
    tf.reduce_prod(tf.stack(xs), axis=0), "divide": lambda n, xs: xs[0] / xs[1],
    "average": lambda n, xs: tf.add_n(xs) / float(len(xs)), "maximum": lambda n, xs: tf.reduce_max(tf.stack(xs), 0),
    "minimum": lambda n, xs: tf.reduce_min(tf.stack(xs), 0), "negative": lambda n, xs: -xs[0],
    "rescale": lambda n, xs: xs[0] * n["scale"] + n["offset"],
    "activation": lambda n, xs: TF_ACTIVATIONS[n["activation"]](xs[0]),
    "relu": lambda n, xs: _relu_layer(n, xs[0]), "leaky_relu": lambda n, xs: _leaky(n, xs[0]),
    "elu": lambda n, xs: _elu(n, xs[0]), "softmax": lambda n, xs: tf.nn.softmax(xs[0], axis=n.get("axis", -1)),
    "split": lambda n, xs: tf.split(xs[0], num_or_size_splits=n["sections"], axis=-1),
    "dueling": lambda n, xs: xs[0] + xs[1] - tf.reduce_mean(xs[1], axis=-1, keepdims=True),
    "reduce": lambda n, xs: _reduce(n, xs[0]), "slice": lambda n, xs: _slice(n, xs[0]),
    "squeeze": lambda n, xs: tf.squeeze(xs[0], axis=n.get("axis")),
    "expand_dims": lambda n, xs: tf.expand_dims(xs[0], n["axis"]),
    "global_average_pool2d": lambda n, xs: tf.reduce_mean(xs[0], axis=[1, 2], keepdims=bool(n.get("keepdims"))),
    "global_max_pool2d": lambda n, xs: tf.reduce_max(xs[0], axis=[1, 2], keepdims=bool(n.get("keepdims"))),
}


# What this backend rebuilds: the layers above, and those with weights or windows, by standard Keras layers.
KERAS_OPS = set(TF_OPS) | {"input", "dense", "conv2d", "batch_norm", "layer_norm", "prelu", "max_pool2d",
                           "average_pool2d"}


class GraphOp(tf.keras.layers.Layer):
    """A layer without weights of the graph, computed by its TensorFlow expression."""

    def __init__(self, node, constants=(), **kwargs):
        super().__init__(name=node["name"].replace("#", "_"), **kwargs)
        self.node, self.constants = node, dict(constants)

    @_plain_tf
    def call(self, inputs, **kwargs):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for position, value in self.constants.items():
            inputs.insert(position, tf.constant(value, dtype=tf.float32))
        return TF_OPS[self.node["op"]](self.node, inputs)


def _weighted_layer(node, weights):
    """A standard Keras layer for a layer with weights, and its arrays in that layer's order."""
    layers = tf.keras.layers
    name = node["name"].replace("#", "_")
    activation = TF_ACTIVATIONS[node.get("activation", "linear")]
    if node["op"] == "dense":
        return layers.Dense(node["units"], activation=activation, use_bias=len(weights) > 1, name=name), weights
    if node["op"] == "conv2d":
        return layers.Conv2D(node["filters"], tuple(node["kernel_size"]), strides=tuple(node["strides"]),
                             padding=node["padding"], activation=activation, use_bias=len(weights) > 1,
                             name=name), weights
    if node["op"] in ("batch_norm", "layer_norm"):
        roles = dict(zip(node["weight_roles"], weights))
        options = {"axis": node["axis"], "epsilon": node["epsilon"], "center": "beta" in roles,
                   "scale": "gamma" in roles, "name": name}
        if node["op"] == "batch_norm":
            return layers.BatchNormalization(**options), [roles[r] for r in node["weight_roles"]]
        return layers.LayerNormalization(**options), [roles[r] for r in node["weight_roles"]]
    if node["op"] == "prelu":
        return layers.PReLU(shared_axes=node.get("shared_axes"), name=name), weights
    if node["op"] == "max_pool2d":
        return layers.MaxPooling2D(tuple(node["size"]), strides=tuple(node["strides"]), padding=node["padding"],
                                   name=name), []
    if node["op"] == "average_pool2d":
        return layers.AveragePooling2D(tuple(node["size"]), strides=tuple(node["strides"]), padding=node["padding"],
                                       name=name), []
    return None, []


def build_keras_model(graph, named_weights):
    """The graph as a tf.keras model with its weights set."""
    arrays = dict(named_weights)
    tensors = {name: tf.keras.Input(shape=tuple(shape), name=name)
               for name, shape in zip(graph["inputs"], graph["input_shapes"])}
    assignments = []
    for node in graph["nodes"]:
        if node["op"] == "input":
            continue
        references = [item for item in node["inputs"] if isinstance(item, str)]
        constants = [(i, item) for i, item in enumerate(node["inputs"]) if not isinstance(item, str)]
        inputs = [_tensor(tensors, item) for item in references]
        weights = [arrays[name] for name in node.get("weights", [])]
        layer, ordered = _weighted_layer(node, weights)
        if layer is None:
            layer = GraphOp(node, constants)
        out = layer(inputs if len(inputs) > 1 or layer.__class__ is GraphOp else inputs[0])
        tensors[node["name"]] = out
        if ordered:
            assignments.append((layer, ordered))
    model = tf.keras.Model(inputs=[tensors[name] for name in graph["inputs"]],
                           outputs=_tensor(tensors, graph["output"]), name="gfsub_graph")
    for layer, ordered in assignments:
        layer.set_weights([np.asarray(array, dtype=np.float32) for array in ordered])
    return model


def _tensor(tensors, reference):
    name, _, index = reference.rpartition(":")
    if name and index.isdigit():
        return tensors[name][int(index)]
    value = tensors[reference]
    return value[0] if isinstance(value, (list, tuple)) else value


def compiled_forward(model, input_shapes):
    """A traced, graph-compiled forward pass: [inputs, each (1, ...)] -> the output (1, n)."""
    signature = [tf.TensorSpec((1,) + tuple(shape), tf.float32) for shape in input_shapes]
    forward = tf.function(lambda *batch: model(list(batch) if len(batch) > 1 else batch[0], training=False),
                          input_signature=signature, autograph=False)

    def run(inputs):
        return forward(*[tf.constant(np.asarray(x, dtype=np.float32)) for x in inputs]).numpy()

    run([np.zeros((1,) + tuple(shape), dtype=np.float32) for shape in input_shapes])  # trace once, at load
    return run
