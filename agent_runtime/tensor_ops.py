"""Tensor ops the ONNX front door needs beyond layers.py, one small numpy function each: `op(node, inputs, weights)`.

Same calling convention as layers.py. Semantics are ONNX's (channels first for convolution and pooling, explicit
pads `[begin..., end...]`, indices int64). Every shape is static except where a node says it reads a shape from its
inputs (a mask's NonZero and what depends on it). Python 3.7 / numpy 1.16 code: it is embedded verbatim in main.py,
where its top-level names share one namespace with layers.py and activations.py.
"""

import numpy as np

from agent_runtime.activations import elu, erf, sigmoid
from agent_runtime.convolution import image_convolution, image_windows


# ----- values -------------------------------------------------------------------------------------------------
def constant(node, inputs, weights):
    return weights[0]


def shape_of(node, inputs, weights):
    """A tensor's shape as int64, for the shapes that depend on the data (a NonZero's count)."""
    return np.array(inputs[0].shape[node.get("start", 0):node.get("end")], dtype=np.int64)


def filled(node, inputs, weights):
    """ConstantOfShape: a tensor of the shape in inputs[0], every element `value`."""
    return np.full(tuple(int(v) for v in inputs[0]), node["value"], dtype=node["dtype"])


def arange(node, inputs, weights):
    start, limit, delta = inputs
    return np.arange(start, limit, delta).astype(np.asarray(start).dtype)


def cast(node, inputs, weights):
    return inputs[0].astype(node["dtype"])


# ----- arithmetic ---------------------------------------------------------------------------------------------
def truncated_divide(node, inputs, weights):
    """Integer Div: the quotient rounded toward zero, as C does."""
    a, b = inputs
    quotient = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -quotient, quotient).astype(np.result_type(a, b))


def power(node, inputs, weights):
    return np.power(inputs[0], inputs[1]).astype(inputs[0].dtype)  # the base's type, as ONNX says


def square_root(node, inputs, weights):
    return np.sqrt(inputs[0])


def exponential(node, inputs, weights):
    return np.exp(inputs[0])


def logarithm(node, inputs, weights):
    return np.log(inputs[0])


def absolute(node, inputs, weights):
    return np.abs(inputs[0])


def error_function(node, inputs, weights):
    return erf(inputs[0])


def clip_between(node, inputs, weights):
    out = inputs[0]
    if node.get("min") is not None:
        out = np.maximum(out, np.asarray(node["min"], dtype=out.dtype))
    if node.get("max") is not None:
        out = np.minimum(out, np.asarray(node["max"], dtype=out.dtype))
    return out


def matrix_product(node, inputs, weights):
    return np.matmul(inputs[0], inputs[1])


def general_matmul(node, inputs, weights):
    """Gemm: alpha * A' B' + beta * C, where A' and B' are A and B, transposed when asked."""
    a = inputs[0].T if node.get("trans_a") else inputs[0]
    b = inputs[1].T if node.get("trans_b") else inputs[1]
    out = np.matmul(a, b)
    if node.get("alpha", 1.0) != 1.0:
        out = out * np.asarray(node["alpha"], dtype=out.dtype)
    if len(inputs) > 2:
        out = out + np.asarray(node.get("beta", 1.0), dtype=out.dtype) * inputs[2]
    return out


# ----- activations ONNX writes with its own settings ----------------------------------------------------------
def scaled_elu(node, inputs, weights):
    """Selu with any alpha and gamma."""
    return np.float32(node["gamma"]) * elu(inputs[0], node["alpha"])


def hard_sigmoid_affine(node, inputs, weights):
    """HardSigmoid: max(0, min(1, alpha x + beta))."""
    x = inputs[0]
    return np.clip(np.float32(node["alpha"]) * x + np.float32(node["beta"]), np.float32(0.0), np.float32(1.0))


def hard_swish(node, inputs, weights):
    x = inputs[0]
    return x * np.clip(x / np.float32(6.0) + np.float32(0.5), np.float32(0.0), np.float32(1.0))


def log_softmax(node, inputs, weights):
    x = inputs[0]
    axis = node.get("axis", -1)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# ----- comparisons and selection ------------------------------------------------------------------------------
def equal(node, inputs, weights):
    return np.equal(inputs[0], inputs[1])


def less(node, inputs, weights):
    return np.less(inputs[0], inputs[1])


def less_or_equal(node, inputs, weights):
    return np.less_equal(inputs[0], inputs[1])


def greater(node, inputs, weights):
    return np.greater(inputs[0], inputs[1])


def greater_or_equal(node, inputs, weights):
    return np.greater_equal(inputs[0], inputs[1])


def logical_not(node, inputs, weights):
    return np.logical_not(inputs[0])


def logical_and(node, inputs, weights):
    return np.logical_and(inputs[0], inputs[1])


def logical_or(node, inputs, weights):
    return np.logical_or(inputs[0], inputs[1])


def where(node, inputs, weights):
    condition, x, y = inputs
    return np.where(condition.astype(bool), x, y)


def nonzero(node, inputs, weights):
    """(rank, count) int64: the coordinates of the non-zero elements, in row-major order."""
    return np.array(np.nonzero(inputs[0]), dtype=np.int64).reshape(inputs[0].ndim, -1)


def index_rows(indices):
    """The index tuple numpy takes for the rows of indices' last axis (one array per axis they index)."""
    return tuple(indices[..., k] for k in range(indices.shape[-1]))


def scatter_nd(node, inputs, weights):
    """ScatterND: a copy of data with data[index] (reduced with) updates, each index a row of indices' last axis."""
    data, indices, updates = inputs
    out = data.copy()
    where_ = index_rows(indices.astype(np.int64, copy=False))
    reduction = node.get("reduction", "none")
    if reduction == "none":
        out[where_] = updates
    else:
        {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[reduction].at(out, where_, updates)
    return out


def argmax(node, inputs, weights):
    x = inputs[0]
    axis = node.get("axis", 0) % x.ndim
    if node.get("select_last_index"):
        index = x.shape[axis] - 1 - np.argmax(np.flip(x, axis=axis), axis=axis)
    else:
        index = np.argmax(x, axis=axis)
    index = index.astype(np.int64)
    return np.expand_dims(index, axis) if node.get("keepdims", 1) else index


# ----- shapes and indexing ------------------------------------------------------------------------------------
def expand(node, inputs, weights):
    shape = node["shape"] if "shape" in node else [int(v) for v in inputs[1]]
    return inputs[0] * np.ones(shape, dtype=inputs[0].dtype)  # numpy's broadcast, exact (x * 1 keeps -0.0)


def tile(node, inputs, weights):
    return np.tile(inputs[0], tuple(node["repeats"]))


def reshape_as(node, inputs, weights):
    """Reshape with ONNX's rules: 0 copies the input's dimension (unless allowzero), -1 is inferred."""
    x = inputs[0]
    shape = node["shape"] if "shape" in node else [int(v) for v in inputs[1]]
    if not node.get("allowzero"):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return x.reshape(tuple(shape))


def flatten_to_2d(node, inputs, weights):
    """Flatten at `axis`: the axes before it into rows, the rest into columns."""
    x = inputs[0]
    rows = 1
    for d in x.shape[:node["axis"]]:
        rows *= d
    return x.reshape(rows, -1)


def transpose(node, inputs, weights):
    return np.transpose(inputs[0], tuple(node["perm"]))


def unsqueeze(node, inputs, weights):
    """Insert size-1 axes at `axes` (positions in the output, sorted)."""
    out = inputs[0]
    for axis in node["axes"]:
        out = np.expand_dims(out, axis)
    return out


def gather(node, inputs, weights):
    return np.take(inputs[0], inputs[1].astype(np.int64), axis=node.get("axis", 0))


def gather_nd(node, inputs, weights):
    """GatherND: each row of indices' last axis picks a slice of data, below `batch_dims` leading shared axes."""
    data, indices = inputs[0], inputs[1].astype(np.int64)
    batch = node.get("batch_dims", 0)
    if batch == 0:
        return data[index_rows(indices)]
    lead = indices.shape[:batch]
    data = data.reshape((-1,) + data.shape[batch:])
    indices = indices.reshape((-1,) + indices.shape[batch:])
    picked = [data[i][index_rows(indices[i])] for i in range(data.shape[0])]
    return np.stack(picked).reshape(lead + picked[0].shape)


# ----- convolution and pooling, channels first (run channels last, by convolution.py's windows) -------------
def window_settings(node, spatial):
    """(strides, dilations, pads as ((top, bottom), (left, right))) of a node, for 2 spatial axes (1-D as H = 1)."""
    strides, dilations, pads = list(node["strides"]), list(node["dilations"]), list(node["pads"])
    if spatial == 1:
        return [1] + strides, [1] + dilations, ((0, 0), (pads[0], pads[1]))
    return strides, dilations, ((pads[0], pads[2]), (pads[1], pads[3]))


def channels_last(x, pads, value):
    """(N, C, H, W) -> (N, H, W, C) padded with `value`: a view, unless there is padding."""
    image = x.transpose(0, 2, 3, 1)
    if pads == ((0, 0), (0, 0)):
        return image
    return np.pad(image, ((0, 0),) + pads + ((0, 0),), mode="constant", constant_values=value)


def convolution(node, inputs, weights):
    """Conv (1-D or 2-D, channels first): pads, strides, dilations and groups as ONNX's. It runs channels last
    (convolution.py's), so a tensor that was channels last in memory (a transposed SMM, an earlier Conv) is not
    copied to change its order; the result is a channels-first view of channels-last memory."""
    x, kernel = inputs[0], weights[0]
    spatial = x.ndim - 2
    if spatial == 1:
        x, kernel = x[:, :, None, :], kernel[:, :, None, :]
    strides, dilations, pads = window_settings(node, spatial)
    out = image_convolution(channels_last(x, pads, 0), kernel.transpose(2, 3, 1, 0), strides, dilations,
                            node.get("group", 1))
    if len(weights) > 1:
        out = out + weights[1]
    out = out.transpose(0, 3, 1, 2)
    return out[:, :, 0, :] if spatial == 1 else out


def pooled(node, x, fill, reduce):
    """`reduce` over each pooling window of x (N, C, [H,] W), padded with `fill`: a 1-D pool runs as a 2-D one of
    height 1."""
    spatial = x.ndim - 2
    if spatial == 1:
        x = x[:, :, None, :]
    strides, dilations, pads = window_settings(node, spatial)
    kernel = ([1] if spatial == 1 else []) + list(node["kernel"])
    windows = image_windows(channels_last(x, pads, fill), kernel, strides, dilations)
    out = reduce(windows, axis=(3, 4)).transpose(0, 3, 1, 2)
    return out[:, :, 0, :] if spatial == 1 else out


def max_pool_nchw(node, inputs, weights):
    return pooled(node, inputs[0], -np.inf, np.max)


def average_pool_nchw(node, inputs, weights):
    """AveragePool: the padding counted in each window's size when count_include_pad, else left out."""
    x = inputs[0]
    sums = pooled(node, x, 0, np.sum)
    if node.get("count_include_pad"):
        return sums / np.asarray(np.prod(node["kernel"]), dtype=x.dtype)
    return sums / pooled(node, np.ones((1, 1) + x.shape[2:], dtype=x.dtype), 0, np.sum)


# ----- recurrent layers ---------------------------------------------------------------------------------------
def recurrent_setup(node, inputs, weights, states):
    """(sequence-first x, number of directions, [initial state of each kind]) of an ONNX LSTM or GRU."""
    x = inputs[0]
    if node.get("layout"):
        x = x.transpose(1, 0, 2)
    directions, hidden = weights[1].shape[0], weights[1].shape[2]
    given, position, initial = node.get("initial", []), 1, []
    for kind in states:
        if kind in given:
            state = inputs[position]
            position += 1
            initial.append(state.transpose(1, 0, 2) if node.get("layout") else state)
        else:
            initial.append(np.zeros((directions, x.shape[1], hidden), dtype=x.dtype))
    return x, directions, initial


def recurrent_outputs(node, sequence, finals):
    """[Y, Y_h, ...] in the node's layout from Y (T, D, N, H) and final states (D, N, H)."""
    if node.get("layout"):
        return [sequence.transpose(2, 0, 1, 3)] + [final.transpose(1, 0, 2) for final in finals]
    return [sequence] + finals


def in_step_order(node, values):
    """(D, T, ...), each direction's values in time order -> (T, D, ...) in the order the directions step: a
    reverse one (a `reverse` node's, a bidirectional node's second) from the last time step. All directions then
    advance together, one batched matmul per step."""
    if node.get("direction", "forward") == "reverse":
        values = values[:, ::-1]
    elif values.shape[0] == 2:
        values = np.concatenate([values[:1], values[1:, ::-1]])
    return np.ascontiguousarray(values.transpose((1, 0) + tuple(range(2, values.ndim))))


def in_time_order(node, steps):
    """(T, D, N, H) in step order (in_step_order's) -> in time order, as ONNX's Y."""
    if node.get("direction", "forward") == "reverse":
        return steps[::-1]
    if steps.shape[1] == 2:
        return np.concatenate([steps[:, :1], steps[::-1, 1:]], axis=1)
    return steps


def projected_inputs(x, w, bias):
    """Each direction's input projection x W^T + bias for every step at once: (T, N, I) -> (D, T, N, gates)."""
    return np.matmul(x[None], w.transpose(0, 2, 1)[:, None]) + bias[:, None, None, :]


def lstm(node, inputs, weights):
    """ONNX LSTM, gates in order i, o, f, c; weights W, R, B (and P, the peepholes i, o, f, when given)."""
    x, directions, (h, c) = recurrent_setup(node, inputs, weights, ("h", "c"))
    w, r, b = weights[0], weights[1], weights[2]
    peep = weights[3] if len(weights) > 3 else None
    hidden = r.shape[2]
    steps = in_step_order(node, projected_inputs(x, w, b[:, :4 * hidden] + b[:, 4 * hidden:]))
    recurrent = r.transpose(0, 2, 1)
    if peep is not None:
        peep_i, peep_o, peep_f = (peep[:, None, k * hidden:(k + 1) * hidden] for k in range(3))
    sequence = np.empty((x.shape[0], directions, x.shape[1], hidden), dtype=x.dtype)
    for t in range(x.shape[0]):
        gates = steps[t] + np.matmul(h, recurrent)
        i, o, f, g = (gates[..., k * hidden:(k + 1) * hidden] for k in range(4))
        if peep is not None:
            i, f = i + peep_i * c, f + peep_f * c
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        if peep is not None:
            o = o + peep_o * c
        h = sigmoid(o) * np.tanh(c)
        sequence[t] = h
    return recurrent_outputs(node, in_time_order(node, sequence), [h, c])


def gru(node, inputs, weights):
    """ONNX GRU, gates in order z, r, h; `linear_before_reset` applies the reset gate after the recurrent product.
    The recurrent biases that are plain sums (z's and r's, and h's without linear_before_reset) are added to the
    input projection once, not at every step."""
    x, directions, (h,) = recurrent_setup(node, inputs, weights, ("h",))
    w, r, b = weights[0], weights[1], weights[2]
    hidden = r.shape[2]
    linear_before_reset = node.get("linear_before_reset")
    folded = 2 * hidden if linear_before_reset else 3 * hidden
    bias = b[:, :3 * hidden].copy()
    bias[:, :folded] += b[:, 3 * hidden:3 * hidden + folded]
    steps = in_step_order(node, projected_inputs(x, w, bias))
    recurrent_zr, recurrent_h = r[:, :2 * hidden].transpose(0, 2, 1), r[:, 2 * hidden:].transpose(0, 2, 1)
    h_bias = b[:, None, 5 * hidden:]
    sequence = np.empty((x.shape[0], directions, x.shape[1], hidden), dtype=x.dtype)
    for t in range(x.shape[0]):
        step = steps[t]
        zr = sigmoid(step[..., :2 * hidden] + np.matmul(h, recurrent_zr))
        z, reset = zr[..., :hidden], zr[..., hidden:]
        if linear_before_reset:
            candidate = np.tanh(step[..., 2 * hidden:] + reset * (np.matmul(h, recurrent_h) + h_bias))
        else:
            candidate = np.tanh(step[..., 2 * hidden:] + np.matmul(reset * h, recurrent_h))
        h = (np.float32(1.0) - z) * candidate + z * h
        sequence[t] = h
    return recurrent_outputs(node, in_time_order(node, sequence), [h])


TENSOR_OPS = {
    "constant": constant, "shape_of": shape_of, "filled": filled, "arange": arange, "cast": cast,
    "truncated_divide": truncated_divide, "power": power, "square_root": square_root, "exponential": exponential,
    "logarithm": logarithm, "absolute": absolute, "error_function": error_function, "clip_between": clip_between,
    "matrix_product": matrix_product, "general_matmul": general_matmul, "scaled_elu": scaled_elu,
    "hard_sigmoid_affine": hard_sigmoid_affine, "hard_swish": hard_swish, "log_softmax": log_softmax,
    "equal": equal, "less": less, "less_or_equal": less_or_equal, "greater": greater,
    "greater_or_equal": greater_or_equal, "logical_not": logical_not, "logical_and": logical_and,
    "logical_or": logical_or, "where": where, "nonzero": nonzero, "scatter_nd": scatter_nd, "argmax": argmax,
    "expand": expand, "tile": tile, "reshape_as": reshape_as, "flatten_to_2d": flatten_to_2d,
    "transpose": transpose, "unsqueeze": unsqueeze, "gather": gather, "gather_nd": gather_nd,
    "convolution": convolution, "max_pool_nchw": max_pool_nchw, "average_pool_nchw": average_pool_nchw,
    "lstm": lstm, "gru": gru,
}
RECURRENT_OPS = ("lstm", "gru")  # ops whose value is a list of tensors: [Y, Y_h] or [Y, Y_h, Y_c]
