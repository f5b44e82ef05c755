"""Read a SplitterConvNN's architecture from a saved Keras model config (Keras 2 or Keras 3).

The user's model refers to their own SplitLayer class under whatever name their code registered,
so the builder never deserialises the model: it walks the config's layer graph instead and
returns the Architecture plus which of the user's layers plays each canonical role.
"""

from dataclasses import dataclass, replace

from agent_runtime.architecture import ACTIVATIONS, Architecture, ConvSpec, PoolSpec, conv_name


@dataclass
class ConfigLayer:
    name: str
    class_name: str
    config: dict
    inputs: list  # [(source layer name, tensor index)]


class ConfigGraphError(ValueError):
    """The config is not a SplitterConvNN graph; the message says which layer and why."""


def architecture_from_config(model_config: dict) -> tuple:
    """-> (Architecture, {canonical layer name: user's layer name})."""
    layers = _parse_layers(model_config)
    consumers: dict = {}
    for layer in layers:
        for source, index in layer.inputs:
            consumers.setdefault(source, []).append((layer, index))

    input_layer = _only(layers, lambda layer: layer.class_name == "InputLayer", "an InputLayer")
    input_shape = _input_shape(input_layer)
    split = _only(layers, lambda layer: "split" in _short_class(layer).lower(), "a SplitLayer")
    n_branches = int(input_shape[-1])

    roles: dict = {}
    branch_specs, flattens = [], []
    for branch in range(n_branches):
        specs, flatten = _walk_branch(split, branch, consumers, roles)
        branch_specs.append(specs)
        flattens.append(flatten)
    if any(specs != branch_specs[0] for specs in branch_specs):
        raise ConfigGraphError("the convolution branches differ from each other; gfsub needs identical branches")

    x = _concat_after(flattens, consumers) if n_branches > 1 else flattens[0]
    dense_units, dense_activations = [], []
    while True:
        nexts = consumers.get(x.name, [])
        dense = [layer for layer, _ in nexts if _short_class(layer) == "Dense"]
        if len(nexts) == 1 and dense and consumers.get(dense[0].name):
            dense_activations.append(_activation(dense[0]))
            dense_units.append(int(dense[0].config["units"]))
            roles[f"fc{len(dense_units)}"] = dense[0].name
            x = dense[0]
            continue
        break
    dueling, n_actions, head_activation = _head(x, consumers, roles)
    arch = Architecture(
        input_shape=tuple(input_shape),
        convs=branch_specs[0],
        dense_units=tuple(dense_units),
        n_actions=n_actions,
        dueling=dueling,
        dense_activations=tuple(dense_activations),
        head_activation=head_activation,
    )
    return arch, roles


def _parse_layers(model_config: dict) -> list:
    config = model_config.get("config", model_config)
    class_name = model_config.get("class_name", "Functional")
    if class_name == "Sequential" or "layers" not in config:
        raise ConfigGraphError(f"a {class_name} model cannot hold a SplitterConvNN (it needs a functional graph)")
    parsed = []
    for layer in config["layers"]:
        layer_config = layer.get("config", {})
        name = layer.get("name") or layer_config.get("name")
        parsed.append(ConfigLayer(name, layer["class_name"], layer_config, _inbound(layer.get("inbound_nodes", []))))
    return parsed


def _inbound(nodes) -> list:
    """(source, tensor index) pairs from Keras 3 ({keras_history}) or Keras 2 ([name, node, index, kw]) nodes."""
    found = []

    def visit(item) -> None:
        if isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") if "config" in item else None
            if history is not None:
                found.append((history[0], int(history[2])))
                return
            for value in item.values():
                visit(value)
        elif isinstance(item, (list, tuple)):
            if len(item) >= 3 and isinstance(item[0], str) and isinstance(item[1], int) and isinstance(item[2], int):
                found.append((item[0], int(item[2])))
                return
            for value in item:
                visit(value)

    visit(nodes)
    return found


def _short_class(layer: ConfigLayer) -> str:
    """`Custom>SplitLayer` -> `SplitLayer`."""
    return layer.class_name.split(">")[-1]


def _only(layers: list, predicate, what: str) -> ConfigLayer:
    matches = [layer for layer in layers if predicate(layer)]
    if len(matches) != 1:
        raise ConfigGraphError(f"expected exactly one {what}, found {len(matches)}")
    return matches[0]


def _input_shape(layer: ConfigLayer) -> tuple:
    shape = layer.config.get("batch_shape") or layer.config.get("batch_input_shape")
    if not shape or len(shape) != 4:
        raise ConfigGraphError(f"input layer '{layer.name}' has shape {shape}; expected (None, 72, 96, 4)")
    return tuple(int(v) for v in shape[1:])


def _activation(layer: ConfigLayer) -> str:
    """The layer's activation by its Keras name; one gfsub does not model is refused, naming the layer."""
    activation = layer.config.get("activation", "linear")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name", activation.get("class_name"))
    activation = activation or "linear"
    if activation not in ACTIVATIONS:
        raise ConfigGraphError(f"layer '{layer.name}' uses activation '{activation}', which gfsub does not model "
                               f"(it models {', '.join(ACTIVATIONS)})")
    return activation


def _require_activation(layer: ConfigLayer, expected: str) -> None:
    activation = _activation(layer)
    if activation != expected:
        raise ConfigGraphError(f"layer '{layer.name}' uses activation '{activation}'; gfsub models '{expected}' here")


def _single_consumer(name: str, consumers: dict, index: int | None = None) -> ConfigLayer:
    nexts = [layer for layer, i in consumers.get(name, []) if index is None or i == index]
    if len(nexts) != 1:
        raise ConfigGraphError(f"layer '{name}' feeds {len(nexts)} layers; a SplitterConvNN branch is a chain")
    return nexts[0]


def _walk_branch(split: ConfigLayer, branch: int, consumers: dict, roles: dict) -> tuple:
    """Follow one branch from the split to its Flatten; -> (tuple of ConvSpec, the Flatten layer)."""
    specs: list = []
    layer = _single_consumer(split.name, consumers, branch)
    while True:
        kind = _short_class(layer)
        if kind == "Conv2D":
            config = layer.config
            specs.append(ConvSpec(
                filters=int(config["filters"]),
                kernel=_pair(config["kernel_size"]),
                strides=_pair(config.get("strides", 1)),
                padding=str(config.get("padding", "valid")),
                activation=_activation(layer),
            ))
            roles[conv_name(len(specs), branch)] = layer.name
        elif kind == "MaxPooling2D":
            if not specs or specs[-1].pool is not None:
                raise ConfigGraphError(f"max-pooling layer '{layer.name}' does not follow a convolution")
            config = layer.config
            size = _pair(config.get("pool_size", 2))
            pool = PoolSpec(size=size, strides=_pair(config.get("strides") or size),
                            padding=str(config.get("padding", "valid")))
            specs[-1] = replace(specs[-1], pool=pool)
        elif kind == "Flatten":
            if not specs:
                raise ConfigGraphError(f"branch {branch} has no convolution before '{layer.name}'")
            return tuple(specs), layer
        else:
            raise ConfigGraphError(f"layer '{layer.name}' ({layer.class_name}) is not part of a SplitterConvNN branch")
        layer = _single_consumer(layer.name, consumers)


def _concat_after(flattens: list, consumers: dict) -> ConfigLayer:
    concat = _single_consumer(flattens[0].name, consumers)
    if _short_class(concat) != "Concatenate":
        raise ConfigGraphError(f"branches meet in '{concat.name}' ({concat.class_name}); expected a Concatenate")
    order = [source for source, _ in concat.inputs]
    if order != [flatten.name for flatten in flattens]:
        raise ConfigGraphError(f"'{concat.name}' joins the branches in the order {order}; gfsub needs channel order")
    return concat


def _head(last_hidden: ConfigLayer, consumers: dict, roles: dict) -> tuple:
    """-> (dueling, n_actions, head activation); fills roles for output / value, advantage."""
    heads = [layer for layer, _ in consumers.get(last_hidden.name, [])]
    if len(heads) == 1 and _short_class(heads[0]) == "Dense":
        roles["output"] = heads[0].name
        return False, int(heads[0].config["units"]), _activation(heads[0])
    if len(heads) == 2 and all(_short_class(layer) == "Dense" for layer in heads):
        value = [layer for layer in heads if int(layer.config["units"]) == 1]
        advantage = [layer for layer in heads if int(layer.config["units"]) != 1]
        if len(value) == 1 and len(advantage) == 1:
            for layer in heads:
                _require_activation(layer, "linear")
            roles["value"], roles["advantage"] = value[0].name, advantage[0].name
            return True, int(advantage[0].config["units"]), "linear"
    names = [f"{layer.name} ({layer.class_name})" for layer in heads]
    raise ConfigGraphError(f"the layers after '{last_hidden.name}' are {names}; expected a Dense Q head or a "
                           "dueling head (Dense(1) value + Dense(n) advantage)")


def _pair(value) -> tuple:
    if isinstance(value, int):
        return (value, value)
    return tuple(int(v) for v in value)
