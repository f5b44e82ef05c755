"""Architectures in words and numbers, for the build summary, main.py's header and error messages (builder-side:
main.py itself holds none of this)."""

from math import prod

from builder.keras.splitter import Architecture


def describe(arch: Architecture) -> str:
    """One line, e.g. `4x[conv16k8s4s conv24k4s2s conv32k3s1s] fc512 fc256 out19`."""
    convs = " ".join(
        f"conv{c.filters}k{c.kernel[0]}s{c.strides[0]}{c.padding[0]}" + ("+pool" if c.pool else "")
        + _unless(c.activation, "relu") for c in arch.convs
    )
    dense = " ".join(f"fc{u}" + _unless(a, "relu") for u, a in zip(arch.dense_units, arch.dense_activations,
                                                                     strict=True))
    head = f"dueling{arch.n_actions}" if arch.dueling else f"out{arch.n_actions}" + _unless(
        arch.head_activation, "linear")
    return f"{arch.n_branches}x[{convs}] {dense} {head}"


def n_params(arch: Architecture) -> int:
    """Trainable parameters, as Keras' count_params() counts them."""
    return sum(prod(int(dim) for dim in shape) for _, shapes in arch.layer_shapes() for shape in shapes)


def _unless(activation: str, usual: str) -> str:
    return "" if activation == usual else ":" + activation


def describe_graph(graph) -> str:
    """One line: the inputs, the layers by kind, and the output, e.g.
    `inputs smm (72, 96, 16) -> 3 conv2d, 1 flatten, 2 dense -> q (19)`."""
    counts: dict = {}
    for node in graph.nodes:
        if node["op"] != "input":
            counts[node["op"]] = counts.get(node["op"], 0) + 1
    layers = ", ".join(f"{count} {op}" for op, count in counts.items())
    inputs = ", ".join(f"{name} {tuple(shape)}" for name, shape in zip(graph.inputs, graph.input_shapes, strict=True))
    return f"inputs {inputs} -> {layers} -> {graph.output or ', '.join(graph.outputs)}"


def output_kind(graph, name: str, units: dict) -> str:
    """What the chosen output holds, for the summary: policy logits (an actor-critic's, or named so), policy
    probabilities (a softmax), else Q-values."""
    node = next((n for n in graph.nodes if n["name"].split("#")[0] == name), {})
    if node.get("activation") == "softmax" or node.get("op") == "softmax":
        return "policy probabilities"
    if any(count == 1 for other, count in units.items() if other != name) or any(
            word in name.lower() for word in ("logit", "policy", "actor", "pi")):
        return "policy logits"
    return "Q-values"
