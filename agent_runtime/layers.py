"""Every layer type gfsub reproduces, one small numpy function each: `op(node, inputs, weights) -> output`.

`node` is the layer's entry in the graph (its settings, as plain data), `inputs` the arrays it receives (each with
the batch axis first, as in Keras), `weights` its arrays in the order the graph lists them. Semantics are Keras'
(channels last, `same` padding puts the larger half at the bottom/right, average pooling ignores padding).

main.py holds this file and activations.py in one namespace: a layer named like an activation function ends in
`_layer` (`elu_layer` is Keras' ELU layer, `elu` the activation it computes).
"""

import numpy as np

from agent_runtime.activations import activate, elu, leaky_relu, softmax
from agent_runtime.convolution import image_convolution, image_windows
from agent_runtime.recurrent import RECURRENT_LAYERS
from agent_runtime.tensor_ops import TENSOR_OPS


# ----- Keras' padding, convolution and pooling (convolution.py's windows) ---------------------------------------------
def pad_amounts(length, window, stride):
    """Keras' `same` padding of one axis: (before, after)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def pad_same(x, window, strides, value):
    """Pad axes 1, 2 of (N, H, W, C) the way Keras' `same` padding does."""
    top, bottom = pad_amounts(x.shape[1], window[0], strides[0])
    left, right = pad_amounts(x.shape[2], window[1], strides[1])
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), mode="constant", constant_values=value)


def convolve(x, kernel, bias, strides, padding):
    """Conv2D without its activation: x (N, H, W, C), kernel (kh, kw, C, F), or one kernel per sample
    (N, kh, kw, C, F); -> (N, Ho, Wo, F)."""
    if padding == "same":
        x = pad_same(x, kernel.shape[-4:-2], strides, 0.0)
    out = image_convolution(x, kernel, strides)
    if bias is not None:
        out += bias.reshape(bias.shape[:-1] + (1, 1, bias.shape[-1])) if bias.ndim > 1 else bias
    return out


def max_pool(x, size, strides, padding):
    if padding == "same":
        x = pad_same(x, size, strides, -np.inf)
    return image_windows(x, size, strides, (1, 1)).max(axis=(3, 4))


def average_pool(x, size, strides, padding):
    """Average over each window's real inputs (Keras' `same` does not count the padding)."""
    if padding != "same":
        return image_windows(x, size, strides, (1, 1)).mean(axis=(3, 4))
    sums = image_windows(pad_same(x, size, strides, 0.0), size, strides, (1, 1)).sum(axis=(3, 4))
    ones = np.ones((1,) + x.shape[1:3] + (1,), dtype=np.float32)
    counts = image_windows(pad_same(ones, size, strides, 0.0), size, strides, (1, 1)).sum(axis=(3, 4))
    return sums / counts


# ----- the layers -----------------------------------------------------------------------------------------------
def dense(node, inputs, weights):
    out = np.matmul(inputs[0], weights[0])
    if len(weights) > 1:
        out = out + weights[1]
    return activate(out, node.get("activation", "linear"))


def conv2d(node, inputs, weights):
    bias = weights[1] if len(weights) > 1 else None
    out = convolve(inputs[0], weights[0], bias, tuple(node["strides"]), node["padding"])
    return activate(out, node.get("activation", "linear"))


def max_pool2d(node, inputs, weights):
    return max_pool(inputs[0], tuple(node["size"]), tuple(node["strides"]), node["padding"])


def average_pool2d(node, inputs, weights):
    return average_pool(inputs[0], tuple(node["size"]), tuple(node["strides"]), node["padding"])


def global_average_pool2d(node, inputs, weights):
    return inputs[0].mean(axis=(1, 2), keepdims=bool(node.get("keepdims", False)))


def global_max_pool2d(node, inputs, weights):
    return inputs[0].max(axis=(1, 2), keepdims=bool(node.get("keepdims", False)))


def flatten(node, inputs, weights):
    return inputs[0].reshape(inputs[0].shape[0], -1)  # row-major: Keras' channels-last order


def reshape(node, inputs, weights):
    return inputs[0].reshape((inputs[0].shape[0],) + tuple(node["shape"]))


def permute(node, inputs, weights):
    return np.transpose(inputs[0], (0,) + tuple(node["dims"]))


def zero_pad2d(node, inputs, weights):
    (top, bottom), (left, right) = node["padding"]
    return np.pad(inputs[0], ((0, 0), (top, bottom), (left, right), (0, 0)), mode="constant")


def crop2d(node, inputs, weights):
    (top, bottom), (left, right) = node["cropping"]
    x = inputs[0]
    return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right, :]


def concatenate(node, inputs, weights):
    return np.concatenate(inputs, axis=node.get("axis", -1))


def add(node, inputs, weights):
    total = inputs[0]
    for x in inputs[1:]:
        total = total + x
    return total


def subtract(node, inputs, weights):
    return inputs[0] - inputs[1]


def multiply(node, inputs, weights):
    product = inputs[0]
    for x in inputs[1:]:
        product = product * x
    return product


def divide(node, inputs, weights):
    return inputs[0] / inputs[1]


def average(node, inputs, weights):
    return add(node, inputs, weights) / np.float32(len(inputs))


def maximum(node, inputs, weights):
    out = inputs[0]
    for x in inputs[1:]:
        out = np.maximum(out, x)
    return out


def minimum(node, inputs, weights):
    out = inputs[0]
    for x in inputs[1:]:
        out = np.minimum(out, x)
    return out


def negative(node, inputs, weights):
    return -inputs[0]


def batch_norm(node, inputs, weights):
    """Inference: (x - moving mean) / sqrt(moving variance + epsilon), scaled by gamma and moved by beta."""
    named = dict(zip(node["weight_roles"], weights))
    x = inputs[0]
    shape = [1] * x.ndim
    for axis in node["axis"]:
        shape[axis] = x.shape[axis]
    scale = np.float32(1.0) / np.sqrt(named["moving_variance"] + np.float32(node["epsilon"]))
    if "gamma" in named:
        scale = scale * named["gamma"]
    out = (x - named["moving_mean"].reshape(shape)) * scale.reshape(shape)
    if "beta" in named:
        out = out + named["beta"].reshape(shape)
    return out


def layer_norm(node, inputs, weights):
    named = dict(zip(node["weight_roles"], weights))
    x = inputs[0]
    axes = tuple(node["axis"])
    centered = x - mean_over(x, axes)
    out = centered / np.sqrt(mean_over(np.square(centered), axes) + np.float32(node["epsilon"]))
    if axes != tuple(range(x.ndim - len(axes), x.ndim)):  # gamma and beta broadcast as they are over trailing axes
        shape = [1] * x.ndim
        for axis in axes:
            shape[axis] = x.shape[axis]
        named = {role: value.reshape(shape) for role, value in named.items()}
    if "gamma" in named:
        out = out * named["gamma"]
    if "beta" in named:
        out = out + named["beta"]
    return out


def rescale(node, inputs, weights):
    return inputs[0] * np.float32(node["scale"]) + np.float32(node["offset"])


def normalize(node, inputs, weights):
    """Keras' Normalization: (x - mean) / max(sqrt(variance), epsilon) (the mean and variance from the file or the
    layer's own settings; `invert` undoes it)."""
    mean, variance = weights[0], weights[1]
    spread = np.maximum(np.sqrt(variance), np.float32(node["epsilon"]))
    if node.get("invert"):
        return mean + inputs[0] * spread
    return (inputs[0] - mean) / spread


def identity(node, inputs, weights):
    return inputs[0]


def activation(node, inputs, weights):
    return activate(inputs[0], node["activation"])


def relu_layer(node, inputs, weights):
    """Keras' ReLU layer: max_value, negative_slope below the threshold."""
    x = inputs[0]
    threshold = np.float32(node.get("threshold", 0.0))
    out = np.where(x >= threshold, x, np.float32(node.get("negative_slope", 0.0)) * (x - threshold))
    if node.get("max_value") is not None:
        out = np.minimum(out, np.float32(node["max_value"]))
    return out


def leaky_relu_layer(node, inputs, weights):
    return leaky_relu(inputs[0], node["negative_slope"])


def elu_layer(node, inputs, weights):
    return elu(inputs[0], node["alpha"])


def prelu(node, inputs, weights):
    x = inputs[0]
    return np.maximum(x, np.float32(0.0)) + weights[0] * np.minimum(x, np.float32(0.0))


def softmax_layer(node, inputs, weights):
    return softmax(inputs[0], axis=node.get("axis", -1))


def split(node, inputs, weights):
    """A channel split: the last axis cut into `sections` equal parts (a layer with several outputs)."""
    return np.split(inputs[0], node["sections"], axis=-1)


def dueling(node, inputs, weights):
    """Q = V + A - mean(A): a dueling head's merge of its value (one unit) and its advantages."""
    value, advantages = inputs
    return value + advantages - advantages.mean(axis=-1, keepdims=True)


def mean_over(x, axes, keepdims=True):
    """x.mean(axis=axes) as numpy computes it (the sum, then / the count), without np.mean's own overhead."""
    if x.dtype != np.float32:
        return x.mean(axis=axes, keepdims=keepdims)
    count = 1
    for axis in (range(x.ndim) if axes is None else axes):
        count *= x.shape[axis]
    return np.add.reduce(x, axis=axes, keepdims=keepdims) / np.float32(count)


REDUCTIONS = {"max": np.maximum.reduce, "min": np.minimum.reduce, "sum": np.add.reduce}  # np.max & co. call these


def reduce(node, inputs, weights):
    axis = node.get("axis")
    axis, keepdims = tuple(axis) if axis is not None else None, bool(node.get("keepdims", False))
    if node["how"] == "mean":
        return mean_over(inputs[0], axis, keepdims)
    return REDUCTIONS[node["how"]](inputs[0], axis=axis, keepdims=keepdims)


def slice_(node, inputs, weights):
    """x[...]: per axis [start, stop, step] (None for an open end), or an integer that drops the axis."""
    index = tuple(slice(*item) if isinstance(item, list) else item for item in node["index"])
    return inputs[0][index]


def squeeze(node, inputs, weights):
    axis = node.get("axis")
    return np.squeeze(inputs[0], axis=tuple(axis) if axis is not None else None)


def expand_dims(node, inputs, weights):
    return np.expand_dims(inputs[0], node["axis"])


OPS = {
    "dense": dense, "conv2d": conv2d, "max_pool2d": max_pool2d, "average_pool2d": average_pool2d,
    "global_average_pool2d": global_average_pool2d, "global_max_pool2d": global_max_pool2d,
    "flatten": flatten, "reshape": reshape, "permute": permute, "zero_pad2d": zero_pad2d, "crop2d": crop2d,
    "concatenate": concatenate, "add": add, "subtract": subtract, "multiply": multiply, "divide": divide,
    "average": average, "maximum": maximum, "minimum": minimum, "negative": negative,
    "batch_norm": batch_norm, "layer_norm": layer_norm, "rescale": rescale, "normalize": normalize,
    "identity": identity, "activation": activation, "relu": relu_layer, "leaky_relu": leaky_relu_layer,
    "elu": elu_layer, "prelu": prelu, "softmax": softmax_layer, "split": split, "dueling": dueling,
    "reduce": reduce, "slice": slice_, "squeeze": squeeze, "expand_dims": expand_dims,
}
OPS.update(RECURRENT_LAYERS)  # Keras' LSTM, GRU, SimpleRNN and Bidirectional (recurrent.py)
OPS.update(TENSOR_OPS)  # the ops only the ONNX front door writes (tensor_ops.py)
