"""gfsub's layer graph on the builder's side: the graph, its weights bound by name, and the checks that it runs.

The graph itself is plain data (agent_runtime/graph.py runs it in main.py); here it also knows every output of the
model and the order of its weighted layers (Keras' get_weights() order, for weights-only files).
"""

from dataclasses import dataclass, field
from math import prod
from pathlib import Path

import numpy as np

from agent_runtime.graph import GraphModel, input_dtypes, tensor_name
from agent_runtime.layers import OPS
from common.errors import UnsupportedArchitectureError, WeightShapeError

CONSTANT_ROLE = "/value"  # the array of a graph constant (an ONNX initializer read as data, a folded shape)


@dataclass
class Graph:
    inputs: list  # input node names, in the model's input order
    input_shapes: list  # each without the batch axis
    outputs: list  # every model output (tensor references), in order
    nodes: list  # dicts, in dependency order (agent_runtime/graph.py)
    layer_order: list = field(default_factory=list)  # weighted layers in get_weights() order
    keras_major: int = 3
    output: str = ""  # the output the policy acts on
    input_names: list = field(default_factory=list)  # the file's own names of the inputs, where they differ
    output_names: list = field(default_factory=list)  # the file's own names of the outputs (else from `outputs`)
    source_tensors: list = field(default_factory=list)  # ONNX: (its tensor, the graph tensor, "node 'n' (op Op)")

    def named_outputs(self) -> dict:
        """{the model's name of an output: its tensor reference}, in the model's order."""
        if self.output_names:
            return dict(zip(self.output_names, self.outputs, strict=True))
        bases = [reference.split("#")[0].split(":")[0] for reference in self.outputs]
        names = [base if bases.count(base) == 1 else reference.split("#")[0]  # a layer's outputs: lstm:0, lstm:1
                 for base, reference in zip(bases, self.outputs, strict=True)]
        return dict(zip(names, self.outputs, strict=True))

    def named_inputs(self) -> dict:
        """{the model's name of an input: its input node}, in the model's order."""
        return dict(zip(self.input_names or self.inputs, self.inputs, strict=True))

    def as_data(self) -> dict:
        """What main.py holds: the graph without the builder's bookkeeping."""
        return {"inputs": self.inputs, "input_shapes": self.input_shapes, "output": self.output,
                "nodes": self.nodes}

    def weighted(self) -> dict:
        """layer name -> the roles of its arrays (`dense` -> ["kernel", "bias"]), a shared layer once."""
        found = {}
        for node in self.nodes:
            for name in node.get("weights", []):
                layer, _, role = name.rpartition("/")
                roles = found.setdefault(layer, [])
                if role not in roles:
                    roles.append(role)
        return found

    def node(self, name: str) -> dict:
        return next(node for node in self.nodes if node["name"] == name)

    @property
    def assumed(self) -> list:
        """Nodes whose computation the config does not record (a Lambda read as a dueling merge)."""
        return [node["name"] for node in self.nodes if node.get("assumed")]


# ----- weights ------------------------------------------------------------------------------------------------
def bind_layer_weights(graph: Graph, layers: dict, path: Path) -> list:
    """[("layer/role", float32 array)] from a file's arrays by layer: a list in the layer's own order, or a dict by
    role (a Keras 2 SavedModel's variable names)."""
    named = []
    for layer, roles in graph.weighted().items():
        arrays = layers.get(layer)
        arrays = [arrays.get(role) for role in roles] if isinstance(arrays, dict) else list(arrays or [])
        node = next(node for node in graph.nodes if any(w.startswith(layer + "/") for w in node.get("weights", [])))
        arrays = _constants(node, roles) or arrays
        if len(arrays) != len(roles) or any(array is None for array in arrays):
            raise WeightShapeError(path, f"layer {layer}: expected {len(roles)} arrays ({', '.join(roles)}), found "
                                   f"{len([a for a in arrays if a is not None])}", "save the model again with its "
                                   "weights (model.save), or pass the file that holds them")
        named += [(f"{layer}/{role}", _as_stored(array)) for role, array in zip(roles, arrays, strict=True)]
    return named


def bind_ordered_weights(graph: Graph, arrays: list, path: Path) -> list:
    """[("layer/role", array)] from arrays in Keras' get_weights() order (layer by layer, each in its own order)."""
    weighted, named, position = graph.weighted(), [], 0
    total = sum(len(weighted[layer]) for layer in graph.layer_order)
    if len(arrays) != total:
        raise WeightShapeError(path, f"found {len(arrays)} weight arrays; the model's layers hold {total}",
                               "pass the weights of this very model (model.get_weights()), or its --arch")
    for layer in graph.layer_order:
        for role in weighted[layer]:
            named.append((f"{layer}/{role}", np.asarray(arrays[position], dtype=np.float32)))
            position += 1
    return named


def _as_stored(array) -> np.ndarray:
    """float32, except integer and bool arrays (an ONNX model's indices and masks), which keep their type."""
    array = np.asarray(array)
    return array if array.dtype.kind in "biu" else array.astype(np.float32)


def _constants(node: dict, roles: list) -> list:
    """Arrays a layer keeps in its config (a Normalization given its mean and variance)."""
    constants = node.get("constants")
    return [np.asarray(constants[role], dtype=np.float32) for role in roles] if constants else []


# ----- checks -------------------------------------------------------------------------------------------------
def expected_weight_shapes(node: dict, shape: tuple) -> list:
    """The shapes a weighted layer's arrays must have, given its input's shape (batch axis first)."""
    op = node["op"]
    if op == "dense":
        roles = {"kernel": (shape[-1], node["units"]), "bias": (node["units"],)}
    elif op == "conv2d":
        roles = {"kernel": (*node["kernel_size"], shape[-1], node["filters"]), "bias": (node["filters"],)}
    elif op in ("batch_norm", "layer_norm"):
        axes = tuple(shape[axis] for axis in node["axis"])
        roles = dict.fromkeys(("gamma", "beta", "moving_mean", "moving_variance"), axes)
    elif op == "prelu":
        alpha = list(shape[1:])
        for axis in node.get("shared_axes") or []:
            alpha[axis - 1] = 1
        roles = {"alpha": tuple(alpha)}
    elif op == "recurrent":
        roles = _recurrent_shapes(node, shape[-1])
    elif op == "bidirectional":
        roles = {f"{way}_{role}": expected for way in ("forward", "backward")
                 for role, expected in _recurrent_shapes(node[way], shape[-1]).items()}
    else:
        return []
    return [roles[name.rpartition("/")[2]] for name in node.get("weights", [])]


GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}


def _recurrent_shapes(layer: dict, features: int) -> dict:
    """A Keras recurrent layer's arrays: kernel, recurrent_kernel, bias (a GRU with reset_after: two biases)."""
    columns = GATES[layer["cell"]] * layer["units"]
    bias = (2, columns) if layer.get("reset_after") else (columns,)
    return {"kernel": (features, columns), "recurrent_kernel": (layer["units"], columns), "bias": bias}


def check_graph(graph: Graph, named: list, path: Path) -> dict:
    """Run the graph once on zeros, layer by layer, checking each layer's weight shapes against its input first;
    -> {tensor: shape} (batch axis included). Resolves what only shapes tell (a split's number of channels)."""
    arrays = dict(named)
    values = {name: np.zeros((1, *shape), dtype=dtype) for name, shape, dtype in
              zip(graph.inputs, graph.input_shapes, input_dtypes(graph.nodes, graph.inputs), strict=True)}
    for node in graph.nodes:
        if node["op"] == "input":
            continue
        inputs = _inputs(values, node, path)
        if node["op"] == "split" and node.get("sections", -1) == -1 and inputs:  # none: refused below
            node["sections"] = int(inputs[0].shape[-1])
        weights = [arrays[name] for name in node.get("weights", [])]
        shape = inputs[0].shape if inputs else ()  # an ONNX `constant` node reads no tensor
        for name, expected, array in zip(node.get("weights", []), _expected_shapes(node, shape, path),
                                         weights, strict=False):
            if tuple(array.shape) != expected:
                raise WeightShapeError(path, f"layer {name}: expected shape {tuple(expected)}, found "
                                       f"{tuple(array.shape)}", "pass the weights of this very model, or its --arch")
        try:
            values[node["name"]] = OPS[node["op"]](node, inputs, weights)
        except (ValueError, IndexError, TypeError) as exc:
            raise UnsupportedArchitectureError(path, f"layer '{node['name']}' ({node['op']}) cannot run on its input "
                                               f"of shape {tuple(shape)} ({exc})",
                                               "gfsub reproduces only graphs whose shapes agree") from None
    return {name: [v.shape for v in value] if isinstance(value, list) else value.shape
            for name, value in values.items()}


def _inputs(values: dict, node: dict, path: Path) -> list:
    """The values of a layer's inputs; one line when one names no earlier layer's output (a damaged config)."""
    try:
        return [GraphModel.value(values, item) for item in node["inputs"]]
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise UnsupportedArchitectureError(path, f"layer '{node['name']}' ({node['op']}) reads {exc}, which no "
                                           "earlier layer makes", "gfsub reproduces only graphs whose shapes agree"
                                           ) from None


def _expected_shapes(node: dict, shape: tuple, path: Path) -> list:
    """expected_weight_shapes as tuples of ints; one line when the layer's settings do not fit its input (a
    damaged config: a convolution fed a vector, units that are no number)."""
    try:
        return [tuple(int(v) for v in expected) for expected in expected_weight_shapes(node, shape)]
    except (IndexError, KeyError, TypeError, ValueError) as exc:
        raise UnsupportedArchitectureError(path, f"layer '{node['name']}' ({node['op']}) cannot take its input of "
                                           f"shape {tuple(shape)} ({type(exc).__name__}: {exc})",
                                           "gfsub reproduces only graphs whose shapes agree") from None


def output_units(shapes: dict, reference: str) -> int:
    """The number of values of an output tensor (its shape without the batch axis, multiplied)."""
    name, index = tensor_name(reference)
    shape = shapes[name][index] if isinstance(shapes[name], list) else shapes[name]
    return prod(shape[1:])
