"""The notebook's SplitterConvNN: its architecture as plain data (read from weight shapes or an --arch file),
and its layer graph.

The network splits the (72, 96, 4) SMM frame difference into its four channels, runs each through
its own stack of convolutions (each optionally followed by max-pooling), flattens and concatenates
the branches, then applies a stack of dense layers and a Q-value head (plain or dueling).
"""

from dataclasses import asdict, dataclass, field, replace

from builder.model_graph import Graph
from common.kaggle import N_ACTIONS

SMM_SHAPE = (72, 96, 4)
# Activations gfsub models exactly, in both backends (Keras names; leaky_relu has Keras 3's slope, 0.2).
ACTIVATIONS = ("relu", "elu", "selu", "tanh", "sigmoid", "softplus", "leaky_relu", "linear")


@dataclass(frozen=True)
class PoolSpec:
    """A MaxPooling2D applied after a convolution."""

    size: tuple = (2, 2)
    strides: tuple = (2, 2)
    padding: str = "valid"


@dataclass(frozen=True)
class ConvSpec:
    """One Conv2D of a branch (ReLU by default)."""

    filters: int
    kernel: tuple
    strides: tuple
    padding: str = "same"
    pool: PoolSpec | None = None
    activation: str = "relu"

    def __post_init__(self) -> None:
        _check_activation(self.activation)


def _notebook_convs() -> tuple:
    return (
        ConvSpec(16, (8, 8), (4, 4)),
        ConvSpec(24, (4, 4), (2, 2)),
        ConvSpec(32, (3, 3), (1, 1)),
    )


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild the network; the defaults are the reference notebook's."""

    input_shape: tuple = SMM_SHAPE
    convs: tuple = field(default_factory=_notebook_convs)
    dense_units: tuple = (512, 256)
    n_actions: int = N_ACTIONS
    dueling: bool = False
    dense_activations: tuple = ()  # one per dense layer; empty means ReLU for each, as in the notebook
    head_activation: str = "linear"  # of a plain Q head (a dueling head is linear)

    def __post_init__(self) -> None:
        if not self.dense_activations:
            object.__setattr__(self, "dense_activations", ("relu",) * len(self.dense_units))
        if len(self.dense_activations) != len(self.dense_units):
            raise ValueError("dense_activations needs one activation per dense layer")
        for name in tuple(self.dense_activations) + (self.head_activation,):
            _check_activation(name)

    @property
    def n_branches(self) -> int:
        return int(self.input_shape[-1])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Architecture":
        """Build from a dict such as `to_dict()` or an arch.json file produces; unknown keys raise."""
        known = {"input_shape", "convs", "dense_units", "n_actions", "dueling", "dense_activations",
                 "head_activation"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown architecture keys: {sorted(unknown)}; expected some of {sorted(known)}")
        convs = tuple(_conv_from_dict(c) for c in data.get("convs", [asdict(c) for c in _notebook_convs()]))
        return cls(
            input_shape=tuple(int(v) for v in data.get("input_shape", SMM_SHAPE)),
            convs=convs,
            dense_units=tuple(int(u) for u in data.get("dense_units", (512, 256))),
            n_actions=int(data.get("n_actions", N_ACTIONS)),
            dueling=bool(data.get("dueling", False)),
            dense_activations=tuple(str(a) for a in data.get("dense_activations", ())),
            head_activation=str(data.get("head_activation", "linear")),
        )

    def layer_shapes(self) -> list:
        """(layer name, [variable shapes]) in the canonical weight order (depth-major, branch 0 first)."""
        shapes = []
        channels_in = 1
        height, width = self.input_shape[0], self.input_shape[1]
        for depth, conv in enumerate(self.convs, start=1):
            for branch in range(self.n_branches):
                kernel = (conv.kernel[0], conv.kernel[1], channels_in, conv.filters)
                shapes.append((conv_name(depth, branch), [kernel, (conv.filters,)]))
            channels_in = conv.filters
            height, width = _conv_output_hw(height, width, conv)
        features = height * width * channels_in * self.n_branches
        for index, units in enumerate(self.dense_units, start=1):
            shapes.append((f"fc{index}", [(features, units), (units,)]))
            features = units
        if self.dueling:
            shapes.append(("value", [(features, 1), (1,)]))
            shapes.append(("advantage", [(features, self.n_actions), (self.n_actions,)]))
        else:
            shapes.append(("output", [(features, self.n_actions), (self.n_actions,)]))
        return shapes

def _check_activation(name: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation {name!r} is not one gfsub models; supported: {', '.join(ACTIVATIONS)}")


def conv_name(depth: int, branch: int) -> str:
    """Layer name of the notebook: conv{depth}_frame_{branch}."""
    return f"conv{depth}_frame_{branch}"


def _conv_from_dict(data: dict) -> ConvSpec:
    pool = data.get("pool")
    if pool is not None:
        pool = PoolSpec(
            size=tuple(int(v) for v in pool.get("size", (2, 2))),
            strides=tuple(int(v) for v in pool.get("strides", pool.get("size", (2, 2)))),
            padding=str(pool.get("padding", "valid")),
        )
    return ConvSpec(
        filters=int(data["filters"]),
        kernel=tuple(int(v) for v in data["kernel"]),
        strides=tuple(int(v) for v in data.get("strides", (1, 1))),
        padding=str(data.get("padding", "same")),
        pool=pool,
        activation=str(data.get("activation", "relu")),
    )


def _out_len(length: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-length // stride)
    return (length - window) // stride + 1


def _conv_output_hw(height: int, width: int, conv: ConvSpec) -> tuple:
    height = _out_len(height, conv.kernel[0], conv.strides[0], conv.padding)
    width = _out_len(width, conv.kernel[1], conv.strides[1], conv.padding)
    if conv.pool is not None:
        height = _out_len(height, conv.pool.size[0], conv.pool.strides[0], conv.pool.padding)
        width = _out_len(width, conv.pool.size[1], conv.pool.strides[1], conv.pool.padding)
    return height, width


# ----- the SplitterConvNN as a graph ---------------------------------------------------------------------------
def splitter_graph(arch: Architecture) -> Graph:
    """The network for `arch` as gfsub's layer graph (agent_runtime/graph.py), with the notebook's layer names, so
    that its weights are those validate.validate_weights names: conv1_frame_0/kernel, fc1/bias, output/kernel..."""
    nodes = [{"name": "input", "op": "input", "shape": list(arch.input_shape)},
             {"name": "split", "op": "split", "sections": arch.n_branches, "inputs": ["input"]}]
    flattens = []
    for branch in range(arch.n_branches):
        tensor = "split" if branch == 0 else f"split:{branch}"
        for depth, conv in enumerate(arch.convs, start=1):
            name = conv_name(depth, branch)
            nodes.append({"name": name, "op": "conv2d", "inputs": [tensor], "filters": conv.filters,
                          "kernel_size": list(conv.kernel), "strides": list(conv.strides), "padding": conv.padding,
                          "activation": conv.activation, "weights": [f"{name}/kernel", f"{name}/bias"]})
            tensor = name
            if conv.pool is not None:
                tensor = f"pool{depth}_frame_{branch}"
                nodes.append({"name": tensor, "op": "max_pool2d", "inputs": [name], "size": list(conv.pool.size),
                              "strides": list(conv.pool.strides), "padding": conv.pool.padding})
        flattens.append(f"flatten_{branch}")
        nodes.append({"name": f"flatten_{branch}", "op": "flatten", "inputs": [tensor]})
    nodes.append({"name": "concat", "op": "concatenate", "axis": -1, "inputs": flattens})
    tensor = "concat"
    for index, (units, activation) in enumerate(zip(arch.dense_units, arch.dense_activations, strict=True), start=1):
        nodes.append(_dense_node(f"fc{index}", tensor, units, activation))
        tensor = f"fc{index}"
    if arch.dueling:
        nodes += [_dense_node("value", tensor, 1, "linear"), _dense_node("advantage", tensor, arch.n_actions, "linear"),
                  {"name": "output", "op": "dueling", "inputs": ["value", "advantage"]}]
    else:
        nodes.append(_dense_node("output", tensor, arch.n_actions, arch.head_activation))
    layers = [name for name, _ in arch.layer_shapes()]  # Keras' get_weights() order (depth-major)
    return Graph(inputs=["input"], input_shapes=[list(arch.input_shape)], outputs=["output"], nodes=nodes,
                 layer_order=layers, output="output")


def _dense_node(name: str, tensor: str, units: int, activation: str) -> dict:
    return {"name": name, "op": "dense", "inputs": [tensor], "units": int(units), "activation": activation,
            "weights": [f"{name}/kernel", f"{name}/bias"]}


def as_splitter(graph: Graph) -> "Architecture | None":
    """The SplitterConvNN architecture a graph read from a model's config is, if it is one (for the summary, which
    then describes it the notebook's way), else None."""
    split = next((n for n in graph.nodes if n["op"] == "split"), None)
    if len(graph.inputs) != 1 or split is None or split.get("inputs") != [graph.inputs[0]]:
        return None
    convs, tensor = [], split["name"]
    while True:
        node = next((n for n in graph.nodes if n.get("inputs") == [tensor] and n["op"] in ("conv2d", "max_pool2d")),
                    None)
        if node is None:
            break
        if node["op"] == "conv2d":
            convs.append(ConvSpec(node["filters"], tuple(node["kernel_size"]), tuple(node["strides"]), node["padding"],
                                  activation=node["activation"]))
        elif convs and convs[-1].pool is None:
            convs[-1] = replace(convs[-1], pool=PoolSpec(tuple(node["size"]), tuple(node["strides"]),
                                                         node["padding"]))
        else:
            return None
        tensor = node["name"]
    dense = [n for n in graph.nodes if n["op"] == "dense"]
    dueling = any(n["op"] == "dueling" for n in graph.nodes)
    hidden = dense[:-2] if dueling else dense[:-1]
    try:
        arch = Architecture(input_shape=tuple(graph.input_shapes[0]), convs=tuple(convs),
                            dense_units=tuple(n["units"] for n in hidden),
                            dense_activations=tuple(n["activation"] for n in hidden),
                            n_actions=dense[-1]["units"] if dense else 0, dueling=dueling,
                            head_activation="linear" if dueling or not dense else dense[-1]["activation"])
    except (ValueError, KeyError, IndexError):
        return None
    return arch if _signature(splitter_graph(arch).nodes) == _signature(graph.nodes) else None


def _signature(nodes: list) -> list:
    """The nodes without their names: what each computes."""
    ignored = ("name", "inputs", "weights", "assumed", "sections")  # a split cuts every channel either way
    return sorted(repr(sorted((k, v) for k, v in node.items() if k not in ignored)) for node in nodes)
