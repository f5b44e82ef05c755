"""A saved Keras model's config (Keras 2 or 3, Functional or Sequential) -> gfsub's layer graph, as plain data.

The model is never deserialised: the config's layer calls (calls.py) become graph nodes one by one, each Keras
class by one small function (layers.py), each TensorFlow / Keras operation of functional code by ops.py.
Recurrent layers are read by recurrent.py. A layer gfsub cannot reproduce exactly (an arbitrary Lambda, a stateful
recurrent layer, an attention layer, a custom class that is not a channel split or a dueling merge) is refused by name
and class. Dropout and noise layers, the identity at inference, are left out of the graph.
"""

from builder.keras.calls import Call, ConfigGraphError, Ref, functional_calls, sequential_calls
from builder.keras.layers import INFERENCE_IDENTITY, refuse, split
from builder.keras.layers import READERS as LAYER_READERS
from builder.keras.ops import op_reader
from builder.keras.recurrent import RECURRENT_READERS
from builder.model_graph import Graph

READERS = {**LAYER_READERS, **RECURRENT_READERS}  # Keras class -> its reader


def graph_from_config(model_config: dict, keras_version: str = "") -> Graph:
    """The graph of a saved model config ({"class_name": ..., "config": ...})."""
    keras_major = int(keras_version.split(".")[0]) if keras_version[:1].isdigit() else (
        3 if "module" in model_config else 2)
    class_name = model_config.get("class_name", "Functional")
    config = model_config.get("config", model_config)
    if class_name == "Sequential":
        calls, inputs, outputs = sequential_calls(config)
    elif "layers" in config:
        calls, inputs, outputs = functional_calls(config)
    else:
        raise ConfigGraphError(f"a {class_name} model without a layer list: gfsub reads Functional and Sequential "
                               "models")
    return _graph_from_calls(calls, inputs, outputs, keras_major)


# ----- calls -> nodes -----------------------------------------------------------------------------------------
def _graph_from_calls(calls: list, inputs: list, outputs: list, keras_major: int) -> Graph:
    nodes = [{"name": name, "op": "input", "shape": shape} for name, shape in inputs]
    names = {(ref_name, 0): ref_name for ref_name, _ in inputs}
    aliases: dict = {}  # a left-out identity layer's output -> its input
    weight_layers = set()
    layers = {call.layer: call for call in calls}
    _refuse_masks(calls)
    for call in _in_dependency_order(calls, set(names)):
        names[(call.layer, call.node_index)] = call.node_name
        if call.class_name in INFERENCE_IDENTITY:
            aliases[call.node_name] = _reference(call.tensors()[0], names, aliases)
            continue
        node = _reader(call, layers)(call, keras_major)
        reads = [_reference(item, names, aliases) if isinstance(item, Ref) else item
                 for item in node.pop("inputs", call.tensors())]
        weights = [f"{call.layer}/{role}" for role in node.pop("weights", [])]
        if weights:
            weight_layers.add(call.layer)
        op = node.pop("op")
        nodes.append({"name": call.node_name, "op": op, "inputs": reads, **node,
                      **({"weights": weights} if weights else {})})
    return Graph(inputs=[name for name, _ in inputs], input_shapes=[shape for _, shape in inputs],
                 outputs=[_reference(ref, names, aliases) for ref in outputs], nodes=nodes,
                 layer_order=[layer for layer in dict.fromkeys(call.layer for call in calls) if layer in weight_layers],
                 keras_major=keras_major)


def _in_dependency_order(calls: list, known: set) -> list:
    """The calls ordered so that each comes after the calls whose outputs it reads (a shared layer's second call
    may read a layer the config lists after it)."""
    ordered, pending, known = [], list(calls), set(known)
    while pending:
        ready = [call for call in pending if all((ref.layer, ref.node) in known for ref in _all_refs(call))]
        if not ready:
            call = pending[0]
            missing = next(ref for ref in _all_refs(call) if (ref.layer, ref.node) not in known)
            raise ConfigGraphError(f"layer '{call.layer}' reads a tensor of '{missing.layer}' (call {missing.node}), "
                                   "which the config does not define")
        for call in ready:
            ordered.append(call)
            known.add((call.layer, call.node_index))
        pending = [call for call in pending if call not in ready]
    return ordered


def _refuse_masks(calls: list) -> None:
    """A layer given a mask (Keras 3 records the mask a Masking layer or mask_zero makes as operations, and passes it
    as `mask`) is refused by name before those operations are: gfsub runs every layer over every timestep."""
    for call in calls:
        mask = call.kwargs.get("mask")
        if any(isinstance(item, Ref) for item in (mask if isinstance(mask, list) else [mask])):
            raise refuse(call, "is given a mask (by a Masking layer, an Embedding's mask_zero or mask=); gfsub "
                               "reproduces layers over every timestep, without masks")


def _all_refs(call: Call) -> list:
    """Every tensor a call reads: its positional tensors and those passed by keyword (TFOpLambda's `y`, a recurrent
    layer's `initial_state` list)."""
    found = call.tensors()
    for value in call.kwargs.values():
        found.extend(item for item in (value if isinstance(value, list) else [value]) if isinstance(item, Ref))
    return found


def _reference(ref: "Ref", names: dict, aliases: dict) -> str:
    node = names.get((ref.layer, ref.node))
    if node is None:
        raise ConfigGraphError(f"a tensor of layer '{ref.layer}' (call {ref.node}) is used before that layer "
                               "is defined")
    name = node if ref.tensor == 0 else f"{node}:{ref.tensor}"
    while name in aliases:
        name = aliases[name]
    return name


def _reader(call: Call, layers: dict):
    """The reader of this call: its Keras class's, an operation's (ops.py), the user's channel split (a custom
    class named for it), or a dueling merge (a Lambda on a value and advantages)."""
    reader = op_reader(call)  # first: Keras 3's operations share class names with layers (Add, Concatenate)
    if reader is not None:
        return reader
    if call.class_name in READERS and not (call.class_name == "Lambda" and _merges_value_and_advantages(call, layers)):
        return READERS[call.class_name]
    lowered = call.class_name.lower()
    if "split" in lowered:
        return split
    if _merges_value_and_advantages(call, layers):
        # What the merge computes is not in the config: V + A - mean(A) is assumed, and only a build verified
        # against the model itself (run by its own Keras) may keep it.
        return lambda c, k: {"op": "dueling", "assumed": True}
    raise refuse(call, "is a layer gfsub does not reproduce; it reproduces "
                       + ", ".join(sorted(READERS)) + ", a channel split and a dueling merge")


def _merges_value_and_advantages(call: Call, layers: dict) -> bool:
    """A layer on [Dense(1), Dense(n)]: the shape of a dueling head's merge."""
    sources = [layers.get(ref.layer) for ref in call.tensors()]
    if len(sources) != 2 or any(source is None or source.class_name != "Dense" for source in sources):
        return False
    return int(sources[0].config.get("units", 0)) == 1 and int(sources[1].config.get("units", 0)) > 1
