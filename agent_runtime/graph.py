"""A model as plain data, and its numpy forward pass.

A graph is a dict: `inputs` (input node names, in the model's input order), `input_shapes` (each without the batch
axis), `output` (the tensor whose values the policy acts on), and `nodes` in an order where every node comes after
the nodes it reads. A graph run by the agent shell (shell.py) also names every model output (`outputs`: [name,
tensor] pairs) and says which inputs are recurrent state (`state`, shell.py).

A node is `{"name", "op", "inputs", "weights", ...settings}`: `op` names a function of layers.OPS, `inputs` lists
tensors (`"name"`, or `"name:k"` for output k of a node with several) or constants (numbers), `weights` the names of
its arrays in the weights manifest.
"""

import numpy as np

from agent_runtime.layers import OPS
from agent_runtime.recurrent import RECURRENT_LAYERS
from agent_runtime.tensor_ops import RECURRENT_OPS

MULTI_OUTPUT_OPS = ("split",) + RECURRENT_OPS + tuple(RECURRENT_LAYERS)  # ops whose value is a list of tensors


def input_dtypes(nodes, inputs):
    """The dtype of each model input, in `inputs`' order: float32 unless its input node says (int64 indices)."""
    declared = {node["name"]: node.get("dtype", "float32") for node in nodes if node["op"] == "input"}
    return [declared.get(name, "float32") for name in inputs]


def tensor_name(reference):
    """"conv:1" -> ("conv", 1); "conv" -> ("conv", 0)."""
    name, _, index = reference.rpartition(":")
    if name and index.isdigit():
        return name, int(index)
    return reference, 0


class GraphModel:
    """The graph's forward pass: model inputs (each with its batch axis) -> the output tensor.

    At load the graph becomes a plan: per node its function, its settings, how to fetch each argument and its
    weights, so that a step does no lookups beyond one dict of values."""

    def __init__(self, graph, named_weights):
        self.graph = graph
        arrays = dict(named_weights)
        self.nodes = [node for node in graph["nodes"] if node["op"] != "input"]
        self.weights = {node["name"]: [arrays[name] for name in node.get("weights", [])] for node in self.nodes}
        lists = {node["name"] for node in self.nodes if node["op"] in MULTI_OUTPUT_OPS}
        self.plan = [(node["name"], OPS[node["op"]], node, [self._fetch(item, lists) for item in node["inputs"]],
                      self.weights[node["name"]]) for node in self.nodes]
        self.output = self._fetch(graph["output"], lists)
        self.named_outputs = [(name, self._fetch(reference, lists)) for name, reference in graph.get("outputs", [])]
        self.input_dtypes = input_dtypes(graph["nodes"], graph["inputs"])

    @staticmethod
    def _fetch(item, lists):
        """(name, index or None) of a tensor reference; (None, constant) of a constant operand."""
        if not isinstance(item, str):
            return None, np.float32(item)  # e.g. the 1.0 of `x + 1.0`
        name, index = tensor_name(item)
        return name, (index if name in lists else None)

    @staticmethod
    def _get(values, fetch):
        name, index = fetch
        if name is None:
            return index
        return values[name] if index is None else values[name][index]

    def run(self, inputs, known=None, only=None):
        """Every tensor from the inputs and `known` ({name: value} computed elsewhere) -> {name: value}; with `only`,
        just those nodes."""
        values = dict(zip(self.graph["inputs"], inputs))
        if known:
            values.update(known)
        for name, function, node, fetches, weights in self.plan:
            if name in values or (only is not None and name not in only):
                continue
            # _get inlined (a call per argument was a tenth of a small model's step): a constant, a tensor, or
            # one tensor of a node's list
            arguments = [index if source is None else values[source] if index is None else values[source][index]
                         for source, index in fetches]
            values[name] = function(node, arguments, weights)
        return values

    @staticmethod
    def value(values, reference):
        """The tensor `reference` names (or a constant operand), among computed values."""
        if not isinstance(reference, str):
            return np.float32(reference)
        name, index = tensor_name(reference)
        value = values[name]
        return value[index] if isinstance(value, list) else value

    def needed(self, targets, known):
        """The nodes to compute for `targets` when the tensors `known` (and the inputs) are given."""
        by_name = {node["name"]: node for node in self.nodes}
        needed, todo = set(), [tensor_name(t)[0] for t in targets]
        while todo:
            name = todo.pop()
            if name in needed or name in known or name not in by_name:
                continue
            needed.add(name)
            todo.extend(tensor_name(item)[0] for item in by_name[name]["inputs"] if isinstance(item, str))
        return needed

    def outputs(self, inputs):
        """{output name: value} of every named model output, for these inputs (as __call__ takes them)."""
        values = self.run([np.asarray(x, dtype=dtype) for x, dtype in zip(inputs, self.input_dtypes)])
        return {name: self._get(values, fetch) for name, fetch in self.named_outputs}

    def __call__(self, inputs, known=None):
        """The output tensor for these inputs (a list, one array per model input, batch axis first)."""
        values = self.run([np.asarray(x, dtype=dtype) for x, dtype in zip(inputs, self.input_dtypes)], known)
        return self._get(values, self.output)
