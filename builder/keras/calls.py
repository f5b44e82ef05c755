"""A saved Keras model's config (Keras 2 or 3, Functional or Sequential) as a list of layer calls.

Each call says which layer ran, on which tensors (references to other calls' outputs) and with which other
arguments, whatever the Keras version wrote: Keras 3's {"args", "kwargs"} with `__keras_tensor__`s, Keras 2's
[[name, node, tensor, kwargs], ...], or TFOpLambda's single entry.
"""

from dataclasses import dataclass, field

NESTED_MODELS = ("Functional", "Model", "Sequential")


class ConfigGraphError(ValueError):
    """The config holds something gfsub does not reproduce; the message names the layer and its class."""


@dataclass
class Call:
    """One call of a layer, as the config records it: its tensors (references) and its other arguments."""

    layer: str
    class_name: str  # short: `Custom>SplitLayer` -> `SplitLayer`
    module: str  # "" when the file names none (a class defined in __main__, e.g. a notebook, saves null)
    config: dict
    node_index: int
    args: list  # positional: Ref, a constant, or a list of them (a merge layer's inputs)
    kwargs: dict = field(default_factory=dict)  # the others (a Ref where a tensor is passed by keyword)

    @property
    def node_name(self) -> str:
        return self.layer if self.node_index == 0 else f"{self.layer}#{self.node_index}"

    def tensors(self) -> list:
        """Every tensor argument in order, a merge layer's list included."""
        found = []
        for arg in self.args:
            found.extend(item for item in (arg if isinstance(arg, list) else [arg]) if isinstance(item, Ref))
        return found


@dataclass(frozen=True)
class Ref:
    """A tensor: output `tensor` of call `node` of layer `layer`."""

    layer: str
    node: int = 0
    tensor: int = 0


def short_class(class_name: str) -> str:
    return class_name.split(">")[-1]


def _layer_name(layer: dict) -> str:
    return layer.get("name") or layer.get("config", {}).get("name")


def functional_calls(config: dict) -> tuple:
    calls, shapes = [], {}
    for layer in config["layers"]:
        name, cls = _layer_name(layer), short_class(layer["class_name"])
        if cls in NESTED_MODELS:
            raise ConfigGraphError(f"layer '{name}' is a nested {cls} model; gfsub reads the layers of one model")
        if cls == "InputLayer":
            shapes[name] = _input_shape(name, layer.get("config", {}))
            continue
        for index, node in enumerate(layer.get("inbound_nodes", [])):
            args, kwargs = _parse_node(node)
            calls.append(Call(name, cls, layer.get("module") or "", layer.get("config", {}), index, args, kwargs))
    inputs = [_ref(item) for item in _as_list_of_refs(config["input_layers"])]
    outputs = [_ref(item) for item in _as_list_of_refs(config["output_layers"])]
    missing = [ref.layer for ref in inputs if ref.layer not in shapes]
    if missing:
        raise ConfigGraphError(f"the model's inputs {missing} are not InputLayers")
    return calls, [(ref.layer, shapes[ref.layer]) for ref in inputs], outputs


def _as_list_of_refs(items) -> list:
    """Keras writes one output as [name, 0, 0] and several as [[name, 0, 0], ...]."""
    return [items] if items and isinstance(items[0], str) else items


def sequential_calls(config: dict) -> tuple:
    layers = config["layers"]
    first = layers[0] if layers else {}
    if short_class(first.get("class_name", "")) == "InputLayer":
        name, shape = _layer_name(first), _input_shape(_layer_name(first), first.get("config", {}))
        layers = layers[1:]
    else:
        name = "input"
        shape = _input_shape(_layer_name(first) if first else "?", first.get("config", {}))
    calls, previous = [], Ref(name)
    for layer in layers:
        cls = short_class(layer["class_name"])
        if cls in NESTED_MODELS:
            raise ConfigGraphError(f"layer '{_layer_name(layer)}' is a nested {cls} model; gfsub reads the layers "
                                   "of one model")
        calls.append(Call(_layer_name(layer), cls, layer.get("module") or "", layer.get("config", {}), 0, [previous]))
        previous = Ref(_layer_name(layer))
    return calls, [(name, shape)], [previous]


def _input_shape(name: str, config: dict) -> list:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not shape or any(dim is None for dim in shape[1:]):
        raise ConfigGraphError(f"input '{name}' has shape {shape}; gfsub needs every dimension but the batch known")
    return [int(dim) for dim in shape[1:]]


def _ref(item) -> Ref:
    return Ref(str(item[0]), int(item[1]), int(item[2]))


def _parse_node(node) -> tuple:
    """(args, kwargs) of one inbound node, Keras 3 ({"args", "kwargs"}) or Keras 2 ([[name, node, tensor, kw]...],
    or one such entry alone, as TFOpLambda writes it)."""
    if isinstance(node, dict):
        return [_value(arg) for arg in node.get("args", [])], {k: _value(v) for k, v in node.get("kwargs", {}).items()}
    entries = [node] if node and isinstance(node[0], str) else node
    tensors, kwargs = [], {}
    for entry in entries:
        tensors.append(Ref(str(entry[0]), int(entry[1]), int(entry[2])))
        if len(entry) > 3 and isinstance(entry[3], dict):
            kwargs.update({k: _value(v) for k, v in entry[3].items()})
    return ([tensors] if len(tensors) > 1 else tensors), kwargs


def _value(item):
    """A config value with its tensors as Refs: Keras 3 `__keras_tensor__`, Keras 2 [name, node, tensor]."""
    if isinstance(item, dict):
        if item.get("class_name") == "__keras_tensor__":
            history = item["config"]["keras_history"]
            return Ref(str(history[0]), int(history[1]), int(history[2]))
        if item.get("class_name") == "__slice__":
            config = item["config"]
            return [config.get("start"), config.get("stop"), config.get("step")]
        if set(item) >= {"start", "stop", "step"}:
            return [item.get("start"), item.get("stop"), item.get("step")]
        return {k: _value(v) for k, v in item.items()}
    if isinstance(item, list):
        if len(item) == 3 and isinstance(item[0], str) and all(isinstance(v, int) for v in item[1:]):
            return Ref(item[0], item[1], item[2])
        return [_value(v) for v in item]
    return item
