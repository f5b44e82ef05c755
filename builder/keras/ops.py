"""TensorFlow and Keras operations called in functional code (`tf.nn.relu(x)`, `x + 1.0`, `x[:, :16]`,
`keras.ops.mean(x, axis=1)`), as saved in a config, -> graph nodes.

Three forms: TFOpLambda / SlicingOpLambda (tf.keras 2.4 - 2.15 and tf_keras: the function's name, the first tensor,
the rest as keyword arguments), TensorFlowOpLayer (TensorFlow 2.3: a NodeDef and its constant inputs) and Keras 3's
operations (their class in `keras.src.ops`, positional and keyword arguments). Each maps onto a layer of
agent_runtime/layers.py or is refused.
"""

from builder.keras.calls import Call, ConfigGraphError, Ref


def spelling(function: str) -> str:
    """One spelling of an operation's name, whoever wrote it: `tf.math.truediv`, Keras 3's class `TrueDivide` and
    `keras.ops.true_divide` are all `truedivide`, `ExpandDims` and `expand_dims` both `expanddims`."""
    return function.rsplit(".", 1)[-1].lower().replace("_", "")


# name -> activation, for every spelling of the same function (keys as `spelling` writes them)
UNARY = {
    "relu": "relu", "relu6": "relu6", "elu": "elu", "selu": "selu", "gelu": "gelu", "silu": "silu", "swish": "silu",
    "sigmoid": "sigmoid", "tanh": "tanh", "softplus": "softplus", "softsign": "softsign",
}
BINARY = {"add": "add", "addv2": "add", "subtract": "subtract", "sub": "subtract", "multiply": "multiply",
          "mul": "multiply", "truediv": "divide", "divide": "divide", "realdiv": "divide", "truedivide": "divide",
          "maximum": "maximum", "minimum": "minimum"}
REDUCE = {"reducemean": "mean", "mean": "mean", "reducemax": "max", "max": "max", "reducemin": "min",
          "min": "min", "reducesum": "sum", "sum": "sum"}


def op_reader(call: Call):
    """The reader for this call's operation, or None when the call is no operation."""
    if call.class_name in ("TFOpLambda", "SlicingOpLambda"):
        return _tf_op_lambda
    if call.class_name == "TensorFlowOpLayer":
        return _tensorflow_op_layer
    if call.module.startswith("keras.src.ops") or call.module.startswith("keras.ops"):
        return _keras3_op
    return None


def _refuse(call: Call, what: str) -> ConfigGraphError:
    return ConfigGraphError(f"layer '{call.layer}' ({call.class_name}) calls {what}, which gfsub does not reproduce")


def _node_for(call: Call, function: str, x, rest: list, options: dict) -> dict:
    """The node of operation `function` on tensor x, with its other operands and options (any spelling)."""
    name = spelling(function)
    if name in UNARY:
        return {"op": "activation", "activation": UNARY[name], "inputs": [x]}
    if name == "leakyrelu":
        return {"op": "leaky_relu", "negative_slope": float(options.get("alpha", options.get("negative_slope",
                                                                                              0.2))), "inputs": [x]}
    if name == "softmax":
        return {"op": "softmax", "axis": int(options.get("axis", -1)), "inputs": [x]}
    if name in ("neg", "negative"):
        return {"op": "negative", "inputs": [x]}
    if name in BINARY:
        if not rest:
            raise _refuse(call, f"{function} without its second operand")
        return {"op": BINARY[name], "inputs": [x, _operand(call, rest[0])]}
    if name in REDUCE:
        axis = options.get("axis")
        return {"op": "reduce", "how": REDUCE[name], "axis": None if axis is None else _axes(axis),
                "keepdims": bool(options.get("keepdims", options.get("keep_dims", False))), "inputs": [x]}
    if name == "getitem":
        return {"op": "slice", "index": _index(call, options["index"]), "inputs": [x]}
    if name == "reshape":
        shape = [int(v) for v in options["shape"]]
        if shape[0] not in (-1, None):
            raise _refuse(call, f"reshape to {shape}, which changes the batch axis")
        return {"op": "reshape", "shape": shape[1:], "inputs": [x]}
    if name == "squeeze":
        return {"op": "squeeze", "axis": None if options.get("axis") is None else _axes(options["axis"]),
                "inputs": [x]}
    if name == "expanddims":
        return {"op": "expand_dims", "axis": int(options["axis"]), "inputs": [x]}
    raise _refuse(call, function)


def _operand(call: Call, value):
    if isinstance(value, Ref):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _refuse(call, f"an operation on {value!r}")


def _axes(value) -> list:
    return [int(value)] if isinstance(value, int) else [int(v) for v in value]


def _index(call: Call, items) -> list:
    """A slice key as data: per axis [start, stop, step] or an integer (axes from the batch axis on)."""
    items = items if isinstance(items, list) and (not items or isinstance(items[0], (list, int)) or items[0] is None)\
        else [items]
    index = []
    for item in items:
        if isinstance(item, list) and len(item) == 3 and all(v is None or isinstance(v, int) for v in item):
            index.append(item)
        elif isinstance(item, int):
            index.append(item)
        else:
            raise _refuse(call, f"a slice [{item!r}]")
    return index


# ----- the three forms ----------------------------------------------------------------------------------------
def _tf_op_lambda(call: Call, keras_major: int) -> dict:
    function = call.config.get("function", "")
    tensors = call.tensors()
    if function in ("concat",):
        return {"op": "concatenate", "axis": int(call.kwargs.get("axis", -1)), "inputs": tensors}
    if not tensors:
        raise _refuse(call, function + " on no tensor")
    options = dict(call.kwargs)
    if "slice_spec" in options:
        options["index"] = options["slice_spec"]
    rest = [options[key] for key in ("y",) if key in options] or tensors[1:]
    return _node_for(call, function, tensors[0], rest, options)


def _keras3_op(call: Call, keras_major: int) -> dict:
    name = call.class_name
    args = list(call.args)
    options = {**{key: value for key, value in call.config.items() if key != "name"}, **call.kwargs}
    if name == "Concatenate":
        return {"op": "concatenate", "axis": int(options.get("axis", 0)), "inputs": call.tensors()}
    if not args or not isinstance(args[0], Ref):
        raise _refuse(call, f"keras.ops {name} on {args[:1]!r}")
    x, rest = args[0], args[1:]
    if name == "GetItem":
        options["index"] = rest[0]
        rest = []
    elif name == "Reshape" and rest:
        options["shape"] = rest[0]
        rest = []
    elif name in ("Mean", "Max", "Min", "Sum", "Squeeze", "ExpandDims", "Softmax") and rest:
        options.setdefault("axis", rest[0])
        rest = []
    return _node_for(call, name, x, rest, options)


def _tensorflow_op_layer(call: Call, keras_major: int) -> dict:
    """TensorFlow 2.3's TensorFlowOpLayer: the NodeDef's op, its tensor inputs (the inbound tensors, in order) and
    its constant inputs (by position)."""
    node_def = call.config.get("node_def", {})
    op = node_def.get("op", "")
    attributes = node_def.get("attr", {})
    constants = {int(k): v for k, v in (call.config.get("constants") or {}).items()}
    tensors = iter(call.tensors())
    operands = [constants[i] if i in constants else next(tensors, None) for i in range(len(node_def.get("input", [])))]
    if op == "ConcatV2":
        return {"op": "concatenate", "axis": int(operands[-1]), "inputs": [t for t in operands[:-1]]}
    if op == "StridedSlice":
        return {"op": "slice", "index": _strided_slice(call, operands[1:4], attributes), "inputs": [operands[0]]}
    options = {}
    if op in ("Mean", "Max", "Min", "Sum"):
        options = {"axis": operands[1], "keepdims": attributes.get("keep_dims", {}).get("b", False)}
        operands = operands[:1]
    elif op == "Reshape":
        options = {"shape": operands[1]}
        operands = operands[:1]
    elif op == "LeakyRelu":
        options = {"alpha": attributes.get("alpha", {}).get("f", 0.2)}
    elif op == "Softmax":
        options = {"axis": -1}
    return _node_for(call, op, operands[0], operands[1:], options)


def _strided_slice(call: Call, bounds: list, attributes: dict) -> list:
    begin, end, strides = ([int(v) for v in bound] for bound in bounds)
    masks = {name: int(attributes.get(name, {}).get("i", 0)) for name in
             ("begin_mask", "end_mask", "shrink_axis_mask", "ellipsis_mask", "new_axis_mask")}
    if masks["ellipsis_mask"] or masks["new_axis_mask"]:
        raise _refuse(call, "a strided slice with an ellipsis or a new axis")
    index = []
    for axis, (start, stop, step) in enumerate(zip(begin, end, strides, strict=True)):
        if masks["shrink_axis_mask"] >> axis & 1:
            index.append(start)
            continue
        index.append([None if masks["begin_mask"] >> axis & 1 else start,
                      None if masks["end_mask"] >> axis & 1 else stop, step])
    return index
