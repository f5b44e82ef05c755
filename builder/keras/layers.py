"""Keras layers -> graph nodes: one small function per Keras class (READERS), each returning the node's op, its
settings and the roles of its weights, or refusing what gfsub does not reproduce exactly, by layer and class."""

from builder.keras.calls import Call, ConfigGraphError

ACTIVATIONS = ("linear", "relu", "relu6", "elu", "selu", "gelu", "swish", "silu", "tanh", "sigmoid", "hard_sigmoid",
               "softplus", "softsign", "softmax", "leaky_relu")
INFERENCE_IDENTITY = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                      "GaussianDropout", "AlphaDropout", "ActivityRegularization")


def refuse(call: Call, why: str) -> ConfigGraphError:
    return ConfigGraphError(f"layer '{call.layer}' ({call.class_name}) {why}")


def activation_name(call: Call, value, keras_major: int) -> str:
    """The activation by its Keras name; one gfsub does not model is refused, naming the layer."""
    if isinstance(value, dict):
        value = value.get("config", {}).get("name") if isinstance(value.get("config"), dict) else value.get("config")
        value = value or "linear"
    name = {"swish": "silu", None: "linear"}.get(value, value)
    if name not in ACTIVATIONS:
        raise refuse(call, f"uses activation '{value}', which gfsub does not model (it models "
                            f"{', '.join(ACTIVATIONS)})")
    if name == "hard_sigmoid" and keras_major == 2:
        return "hard_sigmoid_keras2"  # Keras 2: clip(0.2 x + 0.5); Keras 3: relu6(x + 3) / 6
    return name


def _pair(value) -> list:
    return [int(value), int(value)] if isinstance(value, int) else [int(v) for v in value]


def _channels_last(call: Call) -> None:
    if call.config.get("data_format", "channels_last") not in ("channels_last", None):
        raise refuse(call, "is channels_first; gfsub reproduces channels_last layers (Keras' default)")


# ----- one function per Keras class ---------------------------------------------------------------------------
def _dense(call: Call, keras_major: int) -> dict:
    weights = ["kernel", "bias"] if call.config.get("use_bias", True) else ["kernel"]
    return {"op": "dense", "units": int(call.config["units"]), "weights": weights,
            "activation": activation_name(call, call.config.get("activation"), keras_major)}


def _conv2d(call: Call, keras_major: int) -> dict:
    _channels_last(call)
    if _pair(call.config.get("dilation_rate", 1)) != [1, 1]:
        raise refuse(call, f"has dilation {call.config['dilation_rate']}; gfsub reproduces dilation 1")
    if int(call.config.get("groups", 1)) != 1:
        raise refuse(call, f"has groups={call.config['groups']}; gfsub reproduces groups=1")
    padding = call.config.get("padding", "valid")
    if padding not in ("same", "valid"):
        raise refuse(call, f"has padding '{padding}'; gfsub reproduces 'same' and 'valid'")
    weights = ["kernel", "bias"] if call.config.get("use_bias", True) else ["kernel"]
    return {"op": "conv2d", "filters": int(call.config["filters"]), "kernel_size": _pair(call.config["kernel_size"]),
            "strides": _pair(call.config.get("strides", 1)), "padding": padding, "weights": weights,
            "activation": activation_name(call, call.config.get("activation"), keras_major)}


def _pool(op: str):
    def read(call: Call, keras_major: int) -> dict:
        _channels_last(call)
        size = _pair(call.config.get("pool_size", 2))
        padding = call.config.get("padding", "valid")
        if padding not in ("same", "valid"):
            raise refuse(call, f"has padding '{padding}'")
        return {"op": op, "size": size, "strides": _pair(call.config.get("strides") or size), "padding": padding}
    return read


def _global_pool(op: str):
    def read(call: Call, keras_major: int) -> dict:
        _channels_last(call)
        return {"op": op, "keepdims": bool(call.config.get("keepdims", False))}
    return read


def _flatten(call: Call, keras_major: int) -> dict:
    _channels_last(call)
    return {"op": "flatten"}


def _reshape(call: Call, keras_major: int) -> dict:
    return {"op": "reshape", "shape": [int(v) for v in call.config["target_shape"]]}


def _permute(call: Call, keras_major: int) -> dict:
    return {"op": "permute", "dims": [int(v) for v in call.config["dims"]]}


def _padding_pairs(value) -> list:
    if isinstance(value, int):
        return [[value, value], [value, value]]
    return [[int(v), int(v)] if isinstance(v, int) else [int(v[0]), int(v[1])] for v in value]


def _zero_pad(call: Call, keras_major: int) -> dict:
    _channels_last(call)
    return {"op": "zero_pad2d", "padding": _padding_pairs(call.config.get("padding", 1))}


def _crop(call: Call, keras_major: int) -> dict:
    _channels_last(call)
    return {"op": "crop2d", "cropping": _padding_pairs(call.config.get("cropping", 0))}


def _merge(op: str):
    def read(call: Call, keras_major: int) -> dict:
        node = {"op": op}
        if op == "concatenate":
            node["axis"] = int(call.config.get("axis", -1))
        return node
    return read


def _axes(value) -> list:
    return [int(value)] if isinstance(value, int) else [int(v) for v in value]


def _batch_norm(call: Call, keras_major: int) -> dict:
    roles = (["gamma"] if call.config.get("scale", True) else []) + (
        ["beta"] if call.config.get("center", True) else []) + ["moving_mean", "moving_variance"]
    return {"op": "batch_norm", "axis": _axes(call.config.get("axis", -1)), "epsilon": float(call.config["epsilon"]),
            "weights": roles, "weight_roles": roles}


def _layer_norm(call: Call, keras_major: int) -> dict:
    if call.config.get("rms_scaling"):
        raise refuse(call, "uses rms_scaling, which gfsub does not model")
    roles = (["gamma"] if call.config.get("scale", True) else []) + (["beta"] if call.config.get("center", True)
                                                                     else [])
    return {"op": "layer_norm", "axis": _axes(call.config.get("axis", -1)), "epsilon": float(call.config["epsilon"]),
            "weights": roles, "weight_roles": roles}


def _rescaling(call: Call, keras_major: int) -> dict:
    scale, offset = call.config.get("scale", 1.0), call.config.get("offset", 0.0)
    if not isinstance(scale, (int, float)) or not isinstance(offset, (int, float)):
        raise refuse(call, "has a per-channel scale or offset; gfsub reproduces scalar ones")
    return {"op": "rescale", "scale": float(scale), "offset": float(offset)}


def _normalization(call: Call, keras_major: int) -> dict:
    node = {"op": "normalize", "axis": _axes(call.config.get("axis", -1)), "invert": bool(call.config.get("invert")),
            "epsilon": 1e-7}
    if call.config.get("mean") is not None:
        node["constants"] = {"mean": call.config["mean"], "variance": call.config["variance"]}
        node["weights"] = ["mean", "variance"]  # the builder makes these arrays from the config
    else:
        node["weights"] = ["mean", "variance", "count"]
    return node


def _activation(call: Call, keras_major: int) -> dict:
    return {"op": "activation", "activation": activation_name(call, call.config.get("activation"), keras_major)}


def _relu(call: Call, keras_major: int) -> dict:
    config = call.config
    return {"op": "relu", "max_value": config.get("max_value"), "negative_slope": float(config.get("negative_slope")
                                                                                      or 0.0),
            "threshold": float(config.get("threshold") or 0.0)}


def _leaky_relu(call: Call, keras_major: int) -> dict:
    slope = call.config.get("negative_slope", call.config.get("alpha", 0.3))
    return {"op": "leaky_relu", "negative_slope": float(slope)}


def _elu(call: Call, keras_major: int) -> dict:
    return {"op": "elu", "alpha": float(call.config.get("alpha", 1.0))}


def _prelu(call: Call, keras_major: int) -> dict:
    return {"op": "prelu", "shared_axes": call.config.get("shared_axes"), "weights": ["alpha"]}


def _softmax(call: Call, keras_major: int) -> dict:
    axis = call.config.get("axis", -1)
    return {"op": "softmax", "axis": int(axis[0] if isinstance(axis, list) else axis)}


def _lambda(call: Call, keras_major: int) -> dict:
    raise refuse(call, "runs arbitrary Python code, which gfsub does not reproduce")


READERS = {
    "Dense": _dense, "Conv2D": _conv2d, "Convolution2D": _conv2d,
    "MaxPooling2D": _pool("max_pool2d"), "MaxPool2D": _pool("max_pool2d"),
    "AveragePooling2D": _pool("average_pool2d"), "AvgPool2D": _pool("average_pool2d"),
    "GlobalAveragePooling2D": _global_pool("global_average_pool2d"),
    "GlobalMaxPooling2D": _global_pool("global_max_pool2d"), "GlobalMaxPool2D": _global_pool("global_max_pool2d"),
    "GlobalAvgPool2D": _global_pool("global_average_pool2d"),
    "Flatten": _flatten, "Reshape": _reshape, "Permute": _permute, "ZeroPadding2D": _zero_pad,
    "Cropping2D": _crop, "Concatenate": _merge("concatenate"), "Add": _merge("add"), "Subtract": _merge("subtract"),
    "Multiply": _merge("multiply"), "Average": _merge("average"), "Maximum": _merge("maximum"),
    "Minimum": _merge("minimum"), "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm,
    "Rescaling": _rescaling, "Normalization": _normalization, "Activation": _activation, "ReLU": _relu,
    "LeakyReLU": _leaky_relu, "ELU": _elu, "PReLU": _prelu, "Softmax": _softmax, "Lambda": _lambda,
}


def split(call: Call, keras_major: int) -> dict:
    """The user's channel-split layer: its last axis cut into one (..., 1) tensor per channel."""
    return {"op": "split", "sections": -1}  # -1: one per channel, resolved once the input's shape is known
