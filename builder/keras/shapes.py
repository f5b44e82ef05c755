"""Architecture from the weight shapes alone, for weights-only files (.npz, pickles, .weights.h5, old main.py).

The known variants of the reference notebook's network: its three convolutions per branch (strides 4, 2, 1,
`same` padding; filters and kernel sizes read from the kernels themselves), with no pooling or a 2x2/stride-2
max-pool after each convolution (`valid` or `same`), any dense sizes, and a plain or dueling Q head. Every
variant (with Kaggle's 19 actions) whose weight list fits the arrays position by position is returned: exactly
one means the shapes say which network it is; several mean they do not, and the user must choose.
"""

from dataclasses import replace

from builder.keras.splitter import SMM_SHAPE, Architecture, ConvSpec, PoolSpec
from builder.keras.weight_order import candidate_orders, fits, shapes_of
from common.kaggle import N_ACTIONS

NOTEBOOK_STRIDES = ((4, 4), (2, 2), (1, 1))
POOLS = {"none": None, "max-pool 2x2 valid": PoolSpec((2, 2), (2, 2), "valid"),
         "max-pool 2x2 same": PoolSpec((2, 2), (2, 2), "same")}


def infer_architectures(arrays: list) -> list:
    """Every known variant that fits these arrays (in any get_weights() order Keras uses), without duplicates."""
    shapes = shapes_of(arrays)
    kernels = [shape for shape in shapes if len(shape) == 4]
    branches = SMM_SHAPE[-1]
    found = []
    for conv_shapes in _conv_kernels_per_depth(kernels, branches):
        if len(conv_shapes) != len(NOTEBOOK_STRIDES):
            continue
        for pool in POOLS.values():
            convs = tuple(ConvSpec(filters=f, kernel=(kh, kw), strides=strides, padding="same", pool=pool)
                          for (kh, kw, _, f), strides in zip(conv_shapes, NOTEBOOK_STRIDES, strict=True))
            for arch in _with_heads(Architecture(convs=convs), shapes[len(kernels) * 2:]):
                if arch.n_actions != N_ACTIONS:  # a head of another size is no known variant
                    continue
                if arch not in found and any(fits(order, shapes) for order in candidate_orders(arch)):
                    found.append(arch)
    return found


def describe_variant(arch: Architecture) -> str:
    """e.g. `max-pool 2x2 same after each conv, dense 256-128, dueling head`."""
    pool = next((name for name, spec in POOLS.items() if spec == arch.convs[0].pool), "custom pooling")
    pooling = "no pooling" if pool == "none" else f"{pool} after each conv"
    dense = "-".join(str(u) for u in arch.dense_units) or "none"
    return f"{pooling}, dense {dense}, {'dueling' if arch.dueling else 'plain'} head"


def _conv_kernels_per_depth(kernels: list, branches: int) -> list:
    """Per-depth kernel shapes, read depth-major (Keras' order) or branch-major; each must chain 1 -> f1 -> f2."""
    if not kernels or len(kernels) % branches:
        return []
    depths = len(kernels) // branches
    readings = [
        [kernels[d * branches:(d + 1) * branches] for d in range(depths)],  # depth-major
        [[kernels[b * depths + d] for b in range(branches)] for d in range(depths)],  # branch-major
    ]
    found = []
    for per_depth in readings:
        if all(len(set(group)) == 1 for group in per_depth):
            chain = [group[0] for group in per_depth]
            if chain[0][2] == 1 and all(chain[i + 1][2] == chain[i][3] for i in range(depths - 1)) \
                    and chain not in found:
                found.append(chain)
    return found


def _with_heads(base: Architecture, dense_shapes: list) -> list:
    """The plain- and dueling-head readings of the dense arrays (kernel, bias pairs) after the convolutions."""
    kernels = dense_shapes[0::2]
    if len(kernels) < 1 or any(len(k) != 2 for k in kernels):
        return []
    readings = []
    plain_units = tuple(k[1] for k in kernels[:-1])
    readings.append(replace(base, dense_units=plain_units, dense_activations=(), n_actions=kernels[-1][1]))
    if len(kernels) >= 2:
        heads = sorted([kernels[-1][1], kernels[-2][1]])
        if heads[0] == 1:
            readings.append(replace(base, dense_units=tuple(k[1] for k in kernels[:-2]), dense_activations=(),
                                    n_actions=heads[1], dueling=True))
    return readings
