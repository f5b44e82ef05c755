"""ONNX op -> graph nodes, one small translator per op: `translate(reader, node)`.

A translator reads the node's attributes (with the spec's defaults) and its constant inputs, and emits nodes of the
functions main.py runs: layers.py's where the math is the same as a Keras layer's (Gemm with a constant B is a
`dense`, BatchNormalization a `batch_norm` on axis 1, Relu the `relu` activation), tensor_ops.py's otherwise.
TRANSLATORS maps op type -> translator; any other op is refused by the reader.
"""

import numpy as np

NUMPY_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
                11: "float64", 12: "uint32", 13: "uint64"}  # ONNX tensor type -> numpy (float16 is refused)

SELU_DEFAULTS = (np.float32(1.67326319217681884765625), np.float32(1.05070102214813232421875))  # alpha, gamma
ACTIVATION_OPS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus"}
UNARY_OPS = {"Neg": "negative", "Sqrt": "square_root", "Exp": "exponential", "Log": "logarithm", "Abs": "absolute",
             "Erf": "error_function", "HardSwish": "hard_swish", "Not": "logical_not"}
BINARY_OPS = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Pow": "power", "Equal": "equal", "Less": "less",
              "LessOrEqual": "less_or_equal", "Greater": "greater", "GreaterOrEqual": "greater_or_equal",
              "And": "logical_and", "Or": "logical_or", "MatMul": "matrix_product"}
VARIADIC_OPS = {"Min": "minimum", "Max": "maximum", "Sum": "add"}
GELU_APPROXIMATIONS = {b"none": "gelu", b"tanh": "gelu_tanh"}  # Gelu's `approximate` -> activations.py's
REDUCE_OPS = {"ReduceSum": "sum", "ReduceMax": "max", "ReduceMin": "min", "ReduceMean": "mean"}


def _axis(axis: int, rank: int) -> int:
    return int(axis) + rank if axis < 0 else int(axis)


def _ints(values) -> list:
    return [int(v) for v in np.asarray(values).reshape(-1)]


def _optional(node, index: int) -> str:
    return node.input[index] if len(node.input) > index else ""


# ----- elementwise --------------------------------------------------------------------------------------------
def activation_op(reader, node):
    reader.bind(0, reader.emit("activation", [node.input[0]], activation=ACTIVATION_OPS[node.op_type]))


def gelu(reader, node):
    """Gelu (opset 20; torch writes F.gelu as it from opset 20 on): erf's, or tanh's when approximate="tanh"."""
    approximate = reader.attr("approximate", b"none")
    if approximate not in GELU_APPROXIMATIONS:
        reader.refuse(f"approximate={approximate.decode(errors='replace')!r}, which ONNX does not define")
    reader.bind(0, reader.emit("activation", [node.input[0]], activation=GELU_APPROXIMATIONS[approximate]))


def unary_op(reader, node):
    reader.bind(0, reader.emit(UNARY_OPS[node.op_type], [node.input[0]]))


def binary_op(reader, node):
    reader.bind(0, reader.emit(BINARY_OPS[node.op_type], list(node.input[:2])))


def variadic_op(reader, node):
    reader.bind(0, reader.emit(VARIADIC_OPS[node.op_type], list(node.input)))


def div(reader, node):
    integer = np.issubdtype(np.asarray(reader.value(node.input[0])).dtype, np.integer)
    reader.bind(0, reader.emit("truncated_divide" if integer else "divide", list(node.input[:2])))


def leaky_relu(reader, node):
    reader.bind(0, reader.emit("leaky_relu", [node.input[0]], negative_slope=float(reader.attr("alpha", 0.01))))


def elu(reader, node):
    reader.bind(0, reader.emit("elu", [node.input[0]], alpha=float(reader.attr("alpha", 1.0))))


def selu(reader, node):
    alpha, gamma = np.float32(reader.attr("alpha", SELU_DEFAULTS[0])), np.float32(reader.attr("gamma",
                                                                                            SELU_DEFAULTS[1]))
    if (alpha, gamma) == SELU_DEFAULTS:
        reader.bind(0, reader.emit("activation", [node.input[0]], activation="selu"))
    else:
        reader.bind(0, reader.emit("scaled_elu", [node.input[0]], alpha=float(alpha), gamma=float(gamma)))


def hard_sigmoid(reader, node):
    alpha, beta = float(reader.attr("alpha", 0.2)), float(reader.attr("beta", 0.5))
    if np.float32(alpha) == np.float32(0.2) and np.float32(beta) == np.float32(0.5):
        reader.bind(0, reader.emit("activation", [node.input[0]], activation="hard_sigmoid_keras2"))
    else:
        reader.bind(0, reader.emit("hard_sigmoid_affine", [node.input[0]], alpha=alpha, beta=beta))


def softmax(reader, node):
    reader.bind(0, reader.emit("softmax", [node.input[0]], axis=int(reader.attr("axis", -1))))


def log_softmax(reader, node):
    reader.bind(0, reader.emit("log_softmax", [node.input[0]], axis=int(reader.attr("axis", -1))))


def clip(reader, node):
    bounds = [reader.constant(key, "a bound").reshape(()).item() if key else None
              for key in (_optional(node, 1), _optional(node, 2))]
    reader.bind(0, reader.emit("clip_between", [node.input[0]], min=bounds[0], max=bounds[1]))


def where(reader, node):
    reader.bind(0, reader.emit("where", list(node.input[:3])))


def cast(reader, node):
    dtype = NUMPY_DTYPES.get(reader.attr("to"))
    if dtype is None:
        reader.refuse(f"a cast to ONNX type {reader.attr('to')}, which numpy does not hold exactly",
                      "export with float32 / int64 / bool tensors")
    reader.bind(0, reader.emit("cast", [node.input[0]], dtype=dtype))


# ----- matrix products ----------------------------------------------------------------------------------------
def gemm(reader, node):
    """A constant B (and C): Keras' `dense`, its kernel B (transposed at build time, alpha folded in), its bias
    beta * C. Otherwise the general product."""
    alpha, beta = float(reader.attr("alpha", 1.0)), float(reader.attr("beta", 1.0))
    trans_a, trans_b = int(reader.attr("transA", 0)), int(reader.attr("transB", 0))
    a, b, c = node.input[0], node.input[1], _optional(node, 2)
    if not reader.is_constant(a) and reader.is_constant(b) and (not c or reader.is_constant(c)):
        if trans_a:
            a = reader.emit("transpose", [a], perm=[1, 0])
        kernel = reader.constant(b).T if trans_b else reader.constant(b)
        weights = {"kernel": kernel * kernel.dtype.type(alpha) if alpha != 1.0 else kernel}
        if c:
            bias = reader.constant(c)
            weights["bias"] = bias * bias.dtype.type(beta) if beta != 1.0 else bias
        reader.bind(0, reader.emit("dense", [a], weights, activation="linear", units=int(kernel.shape[1])))
        return
    reader.bind(0, reader.emit("general_matmul", [a, b] + ([c] if c else []), alpha=alpha, beta=beta,
                               trans_a=trans_a, trans_b=trans_b))


def matmul(reader, node):
    a, b = node.input[0], node.input[1]
    if not reader.is_constant(a) and reader.is_constant(b) and np.ndim(reader.value(b)) == 2:
        kernel = reader.constant(b)
        reader.bind(0, reader.emit("dense", [a], {"kernel": kernel}, activation="linear", units=int(kernel.shape[1])))
    else:
        binary_op(reader, node)


# ----- normalization ------------------------------------------------------------------------------------------
def batch_normalization(reader, node):
    if reader.attr("training_mode", 0):
        reader.refuse("training mode (batch statistics)", "export the model in eval() mode")
    roles = ["gamma", "beta", "moving_mean", "moving_variance"]
    weights = {role: reader.constant(key, role) for role, key in zip(roles, node.input[1:5], strict=False)}
    reader.bind(0, reader.emit("batch_norm", [node.input[0]], weights, axis=[1], weight_roles=roles,
                               epsilon=float(reader.attr("epsilon", 1e-5))))


def layer_normalization(reader, node):
    shape = reader.static_shape(node.input[0])
    first = _axis(reader.attr("axis", -1), len(shape))
    normalized = shape[first:]
    weights = {"gamma": np.broadcast_to(reader.constant(node.input[1], "scale"), normalized).copy()}
    if _optional(node, 2):
        weights["beta"] = np.broadcast_to(reader.constant(node.input[2], "bias"), normalized).copy()
    reader.bind(0, reader.emit("layer_norm", [node.input[0]], weights, axis=list(range(first, len(shape))),
                               weight_roles=list(weights), epsilon=float(reader.attr("epsilon", 1e-5))))


# ----- convolution and pooling --------------------------------------------------------------------------------
def _window(reader, node, kernel: list) -> dict:
    """strides, dilations and begin/end pads of a Conv or pool node (auto_pad resolved on the static shape)."""
    shape = reader.static_shape(node.input[0])
    spatial = len(kernel)
    if spatial not in (1, 2) or len(shape) != spatial + 2:
        reader.refuse(f"{spatial}-D windows; gfsub reproduces 1-D and 2-D ones")
    strides = _ints(reader.attr("strides", [1] * spatial))
    dilations = _ints(reader.attr("dilations", [1] * spatial))
    pads = _ints(reader.attr("pads", [0] * 2 * spatial))
    auto_pad = reader.attr("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad == "VALID":
        pads = [0] * 2 * spatial
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for length, size, stride, dilation in zip(shape[2:], kernel, strides, dilations, strict=False):
            total = max((-(-length // stride) - 1) * stride + (size - 1) * dilation + 1 - length, 0)
            small, large = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else large)
            ends.append(large if auto_pad == "SAME_UPPER" else small)
        pads = begins + ends
    if reader.attr("ceil_mode", 0):
        for i, (length, size, stride, dilation) in enumerate(zip(shape[2:], kernel, strides, dilations, strict=False)):
            span = length + pads[i] + pads[i + spatial] - (size - 1) * dilation - 1
            if span % stride:
                reader.refuse("ceil_mode where it adds a partial window", "export with ceil_mode=False")
    return {"strides": strides, "dilations": dilations, "pads": pads}


def conv(reader, node):
    kernel = reader.constant(node.input[1], "the kernel")
    weights = {"kernel": kernel}
    if _optional(node, 2):
        weights["bias"] = reader.constant(node.input[2], "the bias")
    settings = _window(reader, node, list(kernel.shape[2:]))
    reader.bind(0, reader.emit("convolution", [node.input[0]], weights, group=int(reader.attr("group", 1)),
                               **settings))


def max_pool(reader, node):
    kernel = _ints(reader.attr("kernel_shape"))
    reader.bind(0, reader.emit("max_pool_nchw", [node.input[0]], kernel=kernel, **_window(reader, node, kernel)))


def average_pool(reader, node):
    kernel = _ints(reader.attr("kernel_shape"))
    reader.bind(0, reader.emit("average_pool_nchw", [node.input[0]], kernel=kernel,
                               count_include_pad=int(reader.attr("count_include_pad", 0)),
                               **_window(reader, node, kernel)))


def global_pool(reader, node):
    rank = len(reader.static_shape(node.input[0]))
    how = "mean" if node.op_type == "GlobalAveragePool" else "max"
    reader.bind(0, reader.emit("reduce", [node.input[0]], how=how, axis=list(range(2, rank)), keepdims=True))


# ----- reductions ---------------------------------------------------------------------------------------------
def reduce(reader, node):
    """Axes from the attribute (ReduceMean below opset 18) or the second input."""
    axes = reader.attr("axes")
    if axes is None and _optional(node, 1):
        axes = _ints(reader.constant(node.input[1], "the axes"))
    rank = len(np.shape(reader.value(node.input[0])))
    if not axes:
        if reader.attr("noop_with_empty_axes", 0):
            reader.bind(0, node.input[0])
            return
        axes = None
    else:
        axes = sorted(_axis(a, rank) for a in axes)
    reader.bind(0, reader.emit("reduce", [node.input[0]], how=REDUCE_OPS[node.op_type], axis=axes,
                               keepdims=bool(reader.attr("keepdims", 1))))


def arg_max(reader, node):
    rank = len(np.shape(reader.value(node.input[0])))
    reader.bind(0, reader.emit("argmax", [node.input[0]], axis=_axis(reader.attr("axis", 0), rank),
                               keepdims=int(reader.attr("keepdims", 1)),
                               select_last_index=int(reader.attr("select_last_index", 0))))


# ----- shapes -------------------------------------------------------------------------------------------------
def constant(reader, node):
    from onnx import numpy_helper

    attribute = node.attribute[0]
    if attribute.name == "value":
        value = numpy_helper.to_array(attribute.t)
    elif attribute.name in ("value_float", "value_floats"):
        value = np.asarray(reader.attr(attribute.name), dtype=np.float32)
    elif attribute.name in ("value_int", "value_ints"):
        value = np.asarray(reader.attr(attribute.name), dtype=np.int64)
    else:
        reader.refuse(f"a constant given as {attribute.name}", "export numeric constants")
    reader.bind_constant(0, value)


def shape(reader, node):
    start, end = reader.attr("start", 0), reader.attr("end")
    known = reader.known[node.input[0]]
    if known.ragged:
        reader.bind(0, reader.emit("shape_of", [node.input[0]], ragged=(), start=int(start),
                                   end=None if end is None else int(end)))
    else:
        reader.bind_constant(0, np.array(np.shape(known.value)[start:end], dtype=np.int64))


def size(reader, node):
    reader.bind_constant(0, np.array(int(np.prod(reader.static_shape(node.input[0]))), dtype=np.int64))


def constant_of_shape(reader, node):
    from onnx import numpy_helper

    value = reader.attr("value")
    fill = numpy_helper.to_array(value).reshape(-1) if value is not None else np.zeros(1, np.float32)
    if reader.is_constant(node.input[0]):
        reader.check_count(_ints(reader.value(node.input[0])), "the shape")
    reader.bind(0, reader.emit("filled", [node.input[0]], ragged=None if reader.is_constant(node.input[0]) else "all",
                               value=fill[0].item(), dtype=str(fill.dtype)))


def range_op(reader, node):
    start, limit, delta = (reader.value(key) for key in node.input[:3])
    if all(reader.is_constant(key) for key in node.input[:3]):
        reader.check_count([max(int(np.ceil((limit - start) / delta)), 0)], "the range")
    ragged = None if all(reader.is_constant(key) for key in node.input[:3]) else "all"
    reader.bind(0, reader.emit("arange", list(node.input[:3]), ragged=ragged))


def reshape(reader, node):
    allowzero = int(reader.attr("allowzero", 0))
    if reader.is_constant(node.input[1]):
        target = _ints(reader.constant(node.input[1]))
        reader.bind(0, reader.emit("reshape_as", [node.input[0]], shape=target, allowzero=allowzero))
    else:
        reader.bind(0, reader.emit("reshape_as", list(node.input[:2]), ragged="all", allowzero=allowzero))


def flatten(reader, node):
    rank = len(reader.static_shape(node.input[0]))
    axis = _axis(reader.attr("axis", 1), rank)
    if axis == 1:
        reader.bind(0, reader.emit("flatten", [node.input[0]]))
    else:
        reader.bind(0, reader.emit("flatten_to_2d", [node.input[0]], axis=axis))


def transpose(reader, node):
    rank = len(np.shape(reader.value(node.input[0])))
    perm = reader.attr("perm")
    perm = _ints(perm) if perm is not None else list(range(rank - 1, -1, -1))
    ragged = [perm.index(axis) for axis in reader.ragged(node.input[0])]
    reader.bind(0, reader.emit("transpose", [node.input[0]], ragged=ragged, perm=perm))


def _axes(reader, node) -> "list | None":
    """Squeeze / Unsqueeze axes: the attribute (opset < 13) or the second input."""
    axes = reader.attr("axes")
    if axes is None and _optional(node, 1):
        axes = reader.constant(node.input[1], "the axes")
    return None if axes is None else _ints(axes)


def squeeze(reader, node):
    axes = _axes(reader, node)
    shape = np.shape(reader.value(node.input[0]))
    if axes is None:
        axes = [i for i, d in enumerate(reader.static_shape(node.input[0])) if d == 1]
    axes = sorted(_axis(a, len(shape)) for a in axes)
    reader.static_shape(node.input[0], axes)
    kept = [axis for axis in range(len(shape)) if axis not in axes]
    ragged = [kept.index(axis) for axis in reader.ragged(node.input[0])]
    reader.bind(0, reader.emit("squeeze", [node.input[0]], ragged=ragged, axis=axes))


def unsqueeze(reader, node):
    axes = _axes(reader, node)
    rank = len(np.shape(reader.value(node.input[0]))) + len(axes)
    axes = sorted(_axis(a, rank) for a in axes)
    kept = [axis for axis in range(rank) if axis not in axes]
    ragged = [kept[axis] for axis in reader.ragged(node.input[0])]
    reader.bind(0, reader.emit("unsqueeze", [node.input[0]], ragged=ragged, axes=axes))


def concat(reader, node):
    rank = len(np.shape(reader.value(node.input[0])))
    axis = _axis(reader.attr("axis"), rank)
    ragged = set().union(*(reader.ragged(key) for key in node.input))
    reader.bind(0, reader.emit("concatenate", list(node.input), ragged=ragged, axis=axis))


def split(reader, node):
    """One slice node per output: sizes from the input (opset >= 13) or attribute, else equal parts
    (num_outputs from opset 18: the last part the smaller)."""
    axis = _axis(reader.attr("axis", 0), len(np.shape(reader.value(node.input[0]))))
    shape = reader.static_shape(node.input[0], [axis])
    sizes = reader.attr("split")
    if sizes is None and _optional(node, 1):
        sizes = reader.constant(node.input[1], "the split sizes")
    count = len(node.output)
    if sizes is None:
        part = -(-shape[axis] // int(reader.attr("num_outputs", count)))
        sizes = [min(part, shape[axis] - k * part) for k in range(count)]
    start = 0
    for k, length in enumerate(_ints(sizes)):
        index = [[None, None, None]] * axis + [[start, start + length, 1]]
        reader.bind(k, reader.emit("slice", [node.input[0]], ragged=reader.ragged(node.input[0]), index=index))
        start += length


def slice_op(reader, node):
    """Starts, ends, axes and steps resolved against the static shape into Python's x[start:stop:step]."""
    starts, ends = _ints(reader.constant(node.input[1], "starts")), _ints(reader.constant(node.input[2], "ends"))
    axes = _ints(reader.constant(node.input[3], "axes")) if _optional(node, 3) else list(range(len(starts)))
    shape = reader.static_shape(node.input[0], axes)
    steps = _ints(reader.constant(node.input[4], "steps")) if _optional(node, 4) else [1] * len(starts)
    index = [[None, None, None] for _ in shape]
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
        axis, dim = _axis(axis, len(shape)), shape[_axis(axis, len(shape))]
        start, end = start + dim if start < 0 else start, end + dim if end < 0 else end
        if step > 0:
            start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        else:
            start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
        index[axis] = [start, None if end < 0 else end, step]
    while index and index[-1] == [None, None, None]:
        index.pop()
    reader.bind(0, reader.emit("slice", [node.input[0]], ragged=reader.ragged(node.input[0]), index=index))


def gather(reader, node):
    rank = len(np.shape(reader.value(node.input[0])))
    axis = _axis(reader.attr("axis", 0), rank)
    index_rank = np.ndim(reader.value(node.input[1]))
    ragged = [a if a < axis else a + index_rank - 1 for a in reader.ragged(node.input[0]) if a != axis]
    ragged += [axis + a for a in reader.ragged(node.input[1])]
    if axis in reader.ragged(node.input[0]):
        ragged = "all"
    reader.bind(0, reader.emit("gather", list(node.input[:2]), ragged=ragged, axis=axis))


def gather_nd(reader, node):
    reader.bind(0, reader.emit("gather_nd", list(node.input[:2]), batch_dims=int(reader.attr("batch_dims", 0))))


def broadcast_shape(first, second):
    """The shape two shapes broadcast to (numpy's rule, which ONNX's Expand follows), checked at build time."""
    rank = max(len(first), len(second))
    first = (1,) * (rank - len(first)) + tuple(first)
    second = (1,) * (rank - len(second)) + tuple(second)
    return tuple(b if a == 1 else a for a, b in zip(first, second, strict=True))


def expand(reader, node):
    if reader.is_constant(node.input[1]):
        target = _ints(reader.constant(node.input[1]))
        reader.check_count(broadcast_shape(np.shape(reader.value(node.input[0])), target), "the expanded shape")
        reader.bind(0, reader.emit("expand", [node.input[0]], shape=target))
    else:
        reader.bind(0, reader.emit("expand", list(node.input[:2]), ragged="all"))


def tile(reader, node):
    repeats = _ints(reader.constant(node.input[1], "the repeats"))
    shape = reader.static_shape(node.input[0])
    reader.check_count([d * r for d, r in zip(shape, repeats, strict=False)], "the tiled shape")
    reader.bind(0, reader.emit("tile", [node.input[0]], repeats=repeats))


def identity(reader, node):
    reader.bind(0, node.input[0])


def dropout(reader, node):
    training = _optional(node, 2)
    if training and (not reader.is_constant(training) or reader.constant(training).item()):
        reader.refuse("dropout in training mode", "export the model in eval() mode")
    reader.bind(0, node.input[0])


def nonzero(reader, node):
    reader.bind(0, reader.emit("nonzero", [node.input[0]], ragged=[1]))  # (rank, count): the count is the data's


def scatter_nd(reader, node):
    reduction = reader.attr("reduction", b"none")
    reduction = reduction.decode() if isinstance(reduction, bytes) else reduction
    reader.bind(0, reader.emit("scatter_nd", list(node.input[:3]), ragged=reader.ragged(node.input[0]),
                               reduction=reduction))  # the data's shape, whatever the indices' count


# ----- recurrent layers ---------------------------------------------------------------------------------------
def _recurrent(reader, node, gates: int, states: tuple, **settings) -> None:
    x = node.input[0]
    weights = {"W": reader.constant(node.input[1], "W"), "R": reader.constant(node.input[2], "R")}
    directions, hidden = weights["R"].shape[0], weights["R"].shape[2]
    activations = [a.decode() if isinstance(a, bytes) else a for a in reader.attr("activations", [])]
    if activations and activations != (["Sigmoid", "Tanh", "Tanh"] if gates == 4 else ["Sigmoid", "Tanh"]) * directions:
        reader.refuse(f"activations {activations}, not the default sigmoid and tanh")
    if reader.attr("clip") is not None:
        reader.refuse("a cell clip")
    if reader.attr("input_forget", 0):
        reader.refuse("coupled input and forget gates (input_forget)")
    bias = _optional(node, 3)
    weights["B"] = reader.constant(bias, "B") if bias else np.zeros((directions, 2 * gates * hidden),
                                                                     dtype=weights["W"].dtype)
    layout = int(reader.attr("layout", 0))
    steps = reader.static_shape(x)[1 if layout else 0]
    lengths = _optional(node, 4)
    if lengths and np.any(reader.constant(lengths, "sequence_lens") != steps):
        reader.refuse("sequence_lens shorter than the sequence", "export without padded sequences")
    if len(node.input) > 7 and node.input[7]:
        weights["P"] = reader.constant(node.input[7], "P")
    given = [kind for kind, index in zip(states, (5, 6), strict=False) if _optional(node, index)]
    operands = [x] + [node.input[index] for kind, index in zip(states, (5, 6), strict=False) if _optional(node, index)]
    direction = reader.attr("direction", b"forward")
    keys = reader.emit(node.op_type.lower(), operands, weights, outputs=1 + len(states), layout=layout,
                       direction=direction.decode() if isinstance(direction, bytes) else direction, initial=given,
                       **settings)
    for k, output in enumerate(node.output):
        if output:
            reader.bind(k, keys[k])


def lstm(reader, node):
    _recurrent(reader, node, 4, ("h", "c"))


def gru(reader, node):
    _recurrent(reader, node, 3, ("h",), linear_before_reset=int(reader.attr("linear_before_reset", 0)))


TRANSLATORS = {
    **dict.fromkeys(ACTIVATION_OPS, activation_op), **dict.fromkeys(UNARY_OPS, unary_op),
    **dict.fromkeys(BINARY_OPS, binary_op), **dict.fromkeys(VARIADIC_OPS, variadic_op),
    **dict.fromkeys(REDUCE_OPS, reduce), **dict.fromkeys(("GlobalAveragePool", "GlobalMaxPool"), global_pool),
    "Div": div, "Gelu": gelu, "LeakyRelu": leaky_relu, "Elu": elu, "Selu": selu, "HardSigmoid": hard_sigmoid,
    "Softmax": softmax, "LogSoftmax": log_softmax, "Clip": clip, "Where": where, "Cast": cast, "Gemm": gemm,
    "MatMul": matmul, "BatchNormalization": batch_normalization, "LayerNormalization": layer_normalization,
    "Conv": conv, "MaxPool": max_pool, "AveragePool": average_pool, "ArgMax": arg_max, "Constant": constant,
    "Shape": shape, "Size": size, "ConstantOfShape": constant_of_shape, "Range": range_op, "Reshape": reshape,
    "Flatten": flatten, "Transpose": transpose, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Concat": concat,
    "Split": split, "Slice": slice_op, "Gather": gather, "GatherND": gather_nd, "Expand": expand, "Tile": tile,
    "Identity": identity, "Dropout": dropout, "NonZero": nonzero, "ScatterND": scatter_nd, "LSTM": lstm, "GRU": gru,
}
