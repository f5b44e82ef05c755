"""The orders in which Keras lists a SplitterConvNN's weights (get_weights()), and whether arrays fit one."""

import numpy as np

from builder.keras.splitter import Architecture

VARIABLES = ("kernel", "bias")


def candidate_orders(arch: Architecture) -> list:
    """Weight orders Keras may use for get_weights(): depth-major (Keras 2 and 3) or branch-major,
    with a dueling head's value/advantage in either order. Each: [(name, shape)]."""
    layers = arch.layer_shapes()
    n_conv = len(arch.convs) * arch.n_branches
    convs, rest = layers[:n_conv], layers[n_conv:]
    branch_major = [convs[depth * arch.n_branches + branch]
                    for branch in range(arch.n_branches) for depth in range(len(arch.convs))]
    heads = [rest]
    if arch.dueling:
        heads.append(rest[:-2] + [rest[-1], rest[-2]])
    orders = []
    for conv_order in (convs, branch_major):
        for head in heads:
            orders.append([(f"{layer}/{var}", shape) for layer, shapes in conv_order + head
                           for var, shape in zip(VARIABLES, shapes, strict=True)])
    return orders


def fits(order: list, shapes: list) -> bool:
    """Same count and, position by position, the same shapes."""
    return len(order) == len(shapes) and all(
        tuple(expected) == tuple(found) for (_, expected), found in zip(order, shapes, strict=True))


def shapes_of(arrays: list) -> list:
    return [tuple(np.shape(array)) for array in arrays]
