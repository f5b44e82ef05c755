"""Keras' recurrent layers -> graph nodes (agent_runtime/recurrent.py runs them): LSTM, GRU (reset_after either way)
and SimpleRNN, alone or in a Bidirectional wrapper, Keras 2 or 3.

A node reads the sequence, then the states the model passes as `initial_state` (Keras 3 writes them as a keyword
argument, Keras 2 as more input tensors). What gfsub does not reproduce exactly is refused by layer, class and
setting: a stateful layer (its state carries over from one call to the next), time_major, masks (a Masking layer;
a layer given a mask: graph.py), a Bidirectional without a merge (merge_mode None) or around another layer. Dropout is
the identity at inference; unroll and implementation change how Keras computes, not what.
"""

from builder.keras.calls import Call, ConfigGraphError, Ref, short_class
from builder.keras.layers import activation_name, refuse

CELLS = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}
MERGE_MODES = ("concat", "sum", "mul", "ave")


def _settings(call: Call, class_name: str, config: dict, keras_major: int, where: str = "") -> dict:
    """The settings of one LSTM / GRU / SimpleRNN config (`where` names it inside a wrapper, for the refusals)."""
    if config.get("stateful"):
        raise refuse(call, f"{where}is stateful (its state carries over from one call to the next); gfsub reproduces "
                           "recurrent layers that start every call from zeros or from their initial_state")
    if config.get("time_major"):
        raise refuse(call, f"{where}is time_major; gfsub reproduces recurrent layers over (batch, time, features)")
    settings = {"cell": CELLS[class_name], "units": int(config["units"]),
                "activation": activation_name(call, config.get("activation", "tanh"), keras_major),
                "use_bias": bool(config.get("use_bias", True)),
                "return_sequences": bool(config.get("return_sequences", False)),
                "go_backwards": bool(config.get("go_backwards", False))}
    if class_name != "SimpleRNN":
        settings["recurrent_activation"] = activation_name(call, config.get("recurrent_activation", "sigmoid"),
                                                           keras_major)
    if class_name == "GRU":
        settings["reset_after"] = bool(config.get("reset_after", True))
    return settings


def _roles(settings: dict, prefix: str = "") -> list:
    roles = ["kernel", "recurrent_kernel"] + (["bias"] if settings["use_bias"] else [])
    return [prefix + role for role in roles]


def _inputs(call: Call, states: int) -> list:
    """The sequence, then the initial states (Keras 2: more input tensors; Keras 3: `initial_state`)."""
    if any(isinstance(item, Ref) for item in _flat(call.kwargs.get("constants"))):
        raise refuse(call, "is called with constants, which gfsub does not reproduce")
    tensors = call.tensors() + [item for item in _flat(call.kwargs.get("initial_state")) if isinstance(item, Ref)]
    if len(tensors) - 1 not in (0, states):
        raise refuse(call, f"is given {len(tensors) - 1} initial states; it has {states}")
    return tensors


def _flat(value) -> list:
    return value if isinstance(value, list) else [value]


def _recurrent(call: Call, keras_major: int) -> dict:
    settings = _settings(call, call.class_name, call.config, keras_major)
    return {"op": "recurrent", **settings, "inputs": _inputs(call, _state_count(settings)),
            "weights": _roles(settings)}


def _state_count(settings: dict) -> int:
    return 2 if settings["cell"] == "lstm" else 1


def _wrapped(call: Call, layer: dict, keras_major: int, where: str) -> dict:
    class_name = short_class(layer.get("class_name", ""))
    if class_name not in CELLS:
        raise refuse(call, f"wraps a {class_name}; gfsub reproduces a Bidirectional around an LSTM, GRU or SimpleRNN")
    return _settings(call, class_name, layer.get("config", {}), keras_major, where)


def _bidirectional(call: Call, keras_major: int) -> dict:
    mode = call.config.get("merge_mode", "concat")
    if mode not in MERGE_MODES:
        raise refuse(call, f"has merge_mode {mode!r}; gfsub reproduces {', '.join(MERGE_MODES)}")
    forward = _wrapped(call, call.config["layer"], keras_major, "wraps a layer that ")
    if call.config.get("backward_layer"):
        backward = _wrapped(call, call.config["backward_layer"], keras_major, "has a backward layer that ")
    else:  # Keras makes the backward layer from the forward one, reading the other way
        backward = {**forward, "go_backwards": not forward["go_backwards"]}
    if backward["return_sequences"] != forward["return_sequences"]:
        raise ConfigGraphError(f"layer '{call.layer}' (Bidirectional) has a backward layer that returns sequences "
                               "where its forward layer does not, or the other way")
    states = _state_count(forward) + _state_count(backward)
    return {"op": "bidirectional", "merge_mode": mode, "return_sequences": forward["return_sequences"],
            "forward": forward, "backward": backward, "inputs": _inputs(call, states),
            "weights": _roles(forward, "forward_") + _roles(backward, "backward_")}


def _masking(call: Call, keras_major: int) -> dict:
    raise refuse(call, "masks timesteps for the layers after it; gfsub reproduces recurrent layers over every "
                       "timestep (no masks)")


RECURRENT_READERS = {"LSTM": _recurrent, "GRU": _recurrent, "SimpleRNN": _recurrent,
                     "Bidirectional": _bidirectional, "Masking": _masking}
