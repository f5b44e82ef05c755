"""The agent shell on the builder's side: the outputs main.py names, the one it records, and the recurrent state.

A model runs in the shell (agent_runtime/shell.py) when it comes from ONNX, carries state, or its encoder decides
the action. The state pairs come from `--state IN=OUT[,IN=OUT...]`, else are inferred: an input and an output of
the same shape (batch axis included) pair when nothing else has that shape, or when their names say which goes with
which (`h0` / `hn`, `c_in` / `c_out`). `--state none`: the encoder carries the state itself.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from builder.model_graph import Graph
from common.errors import OptionValueError

# Words a state's name adds to say which side it is on: h0 / hn / h_in / h_out / prev_h / next_h are all "h".
SIDE_WORDS = {"in", "out", "input", "output", "prev", "previous", "next", "new", "last", "init", "initial", "0",
              "n", "t", "state", "states"}


@dataclass(frozen=True)
class ShellPlan:
    """What the shell does around the net: named outputs, the recorded one, and the state pairs (model names)."""

    outputs: dict  # the model's name of each output -> its tensor reference
    record: str  # the output whose first 19 values are the agent's values (and its argmax, without decide)
    state: list = field(default_factory=list)  # [(input name, output name)], as the model names them
    state_origin: str = "none"  # "given (--state)", "inferred by shape", or "none"

    def graph_data(self, graph: Graph) -> dict:
        """main.py's GRAPH: the graph's data and the shell's settings (inputs by their node names)."""
        nodes_by_name = graph.named_inputs()
        return {**graph.as_data(), "input_names": list(graph.named_inputs()),
                "outputs": [[name, reference] for name, reference in self.outputs.items()], "record": self.record,
                "state": [[nodes_by_name[name], output] for name, output in self.state]}

    def fed_inputs(self, graph: Graph) -> list:
        """The model's names of the inputs the encoder or the observation specs give (not the state)."""
        carried = {name for name, _ in self.state}
        return [name for name in graph.named_inputs() if name not in carried]

    def describe_state(self) -> str:
        if not self.state:
            return "none"
        pairs = ", ".join(f"{name} <- {output}" for name, output in self.state)
        return f"{pairs} ({self.state_origin})"


def plan_shell(graph: Graph, shapes: dict, record: str, requested: "str | None", in_order: bool = False,
               path: "Path | None" = None) -> ShellPlan:
    """The shell of this graph: `shapes` from check_graph, `record` the chosen output, `requested` the --state text.
    `in_order`: outputs whose names say nothing (a .pt2's getitem_1, ...) that share a shape pair in their order.
    `path`: the model file, which an error names."""
    outputs = graph.named_outputs()
    if requested is not None and requested.strip().lower() == "none":
        return ShellPlan(outputs, record, [], "none (--state none)")
    if requested is not None:
        return ShellPlan(outputs, record, _given_pairs(graph, shapes, outputs, requested, path), "given (--state)")
    pairs, ordered = _inferred_pairs(graph, shapes, outputs, record, in_order, path)
    origin = "inferred by shape, in the model's order: pass --state to pair them otherwise" if ordered else \
        "inferred by shape"
    return ShellPlan(outputs, record, pairs, origin if pairs else "none")


def _shape(shapes: dict, reference: str) -> tuple:
    name, _, index = reference.rpartition(":")
    if name and index.isdigit() and isinstance(shapes.get(name), list):
        return tuple(shapes[name][int(index)])
    return tuple(shapes[reference])


def _given_pairs(graph: Graph, shapes: dict, outputs: dict, text: str, path: "Path | None") -> list:
    inputs, pairs = graph.named_inputs(), []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, output = part.partition("=")
        name, output = name.strip(), output.strip()
        if name not in inputs:
            raise OptionValueError(path, f"--state {part!r}: {name!r} is no input of the model",
                                   f"use one of {', '.join(inputs)}")
        if output not in outputs:
            raise OptionValueError(path, f"--state {part!r}: {output!r} is no output of the model",
                                   f"use one of {', '.join(outputs)}")
        want, got = _shape(shapes, inputs[name]), _shape(shapes, outputs[output])
        if want != got:
            raise OptionValueError(path, f"--state {part!r}: the input has shape {want}, the output {got}",
                                   "pair each state input with the output of the same shape that becomes its "
                                   "next value")
        pairs.append((name, output))
    if not pairs:
        raise OptionValueError(path, "--state names no pair", "pass --state IN=OUT[,IN=OUT...], or --state none")
    if len({name for name, _ in pairs}) != len(pairs):
        raise OptionValueError(path, f"--state {text!r} gives an input two outputs", "pair each input once")
    return pairs


def _stem(name: str) -> str:
    words = [w for w in re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", name.lower()) if w]
    kept = [w for w in words if w not in SIDE_WORDS]
    if len(kept) == len(words) and len(name) > 1 and name[-1] in "0n" and name[:-1].isalpha():
        kept = [name[:-1].lower()]  # h0 / hn
    return "_".join(kept)


def _inferred_pairs(graph: Graph, shapes: dict, outputs: dict, record: str, in_order: bool,
                    path: "Path | None") -> tuple:
    """(pairs by shape, and by name where several share a shape (by order with `in_order`), whether any was paired
    by order); a model of one input carries no state."""
    inputs = graph.named_inputs()
    if len(inputs) < 2 or len(outputs) < 2:
        return [], False
    dtypes = {node["name"]: node.get("dtype", "float32") for node in graph.nodes if node["op"] == "input"}
    candidates = [name for name, node in inputs.items() if dtypes.get(node, "float32").startswith("float")]
    groups: dict = {}
    for name in candidates:
        groups.setdefault(_shape(shapes, inputs[name]), ([], []))[0].append(name)
    for name, reference in outputs.items():
        if name != record and _shape(shapes, reference) in groups:
            groups[_shape(shapes, reference)][1].append(name)
    pairs, ordered = [], False
    for shape, (ins, outs) in groups.items():
        if not outs:
            continue
        if len(ins) == 1 and len(outs) == 1:
            pairs.append((ins[0], outs[0]))
            continue
        by_stem = {_stem(name): name for name in outs}
        matched = [(name, by_stem.get(_stem(name))) for name in ins]
        if in_order and len(ins) == len(outs) and any(out is None for _, out in matched):
            matched, ordered = list(zip(ins, outs, strict=True)), True
        if len(by_stem) != len(outs) or len(ins) != len(outs) or any(out is None for _, out in matched):
            raise OptionValueError(path, f"inputs {', '.join(ins)} and outputs {', '.join(outs)} all have shape "
                                   f"{shape}, so gfsub cannot tell which output is which input's next value",
                                   "pass --state IN=OUT[,IN=OUT...], or --state none when your encoder carries "
                                   "the state itself")
        pairs += matched
    order = list(inputs)
    return sorted(pairs, key=lambda pair: order.index(pair[0])), ordered
