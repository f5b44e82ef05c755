"""Architectures in words and numbers, for the build summary, main.py's header and error messages (builder-side:
main.py itself holds none of this)."""

from math import prod

from agent_runtime.architecture import Architecture


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
