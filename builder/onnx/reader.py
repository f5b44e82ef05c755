"""An ONNX file -> gfsub's layer graph and its named weights, the same plain data the Keras front door makes.

The model is read with the `onnx` package, never run. Each ONNX node becomes graph nodes by one small translator
(ops.py); a node whose inputs are all known at build time (shape plumbing: Shape, Gather on shapes, Constant,
ConstantOfShape, Range, Cast of constants, ...) is evaluated here with the same numpy function and becomes a
constant. Shapes are static: every tensor is computed once at build time on a batch-1 probe input, and Shape reads
it, except for the tensors whose shape depends on the data (NonZero and what follows it), whose Shape is computed in
main.py.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_runtime.graph import tensor_name
from agent_runtime.layers import OPS
from agent_runtime.tensor_ops import TENSOR_OPS
from builder.contents import Contents
from builder.limits import MAX_MODEL_BYTES, SMALLER, Budget, check_elements, elements, one_line
from builder.model_graph import CONSTANT_ROLE, Graph
from builder.onnx.ops import NUMPY_DTYPES, TRANSLATORS
from common.errors import (
    CorruptFileError,
    GfsubError,
    MissingFileError,
    MissingPackageError,
    ModelTooLargeError,
    OnnxOpRefusedError,
    UnsupportedArchitectureError,
)

OPSETS = range(13, 22)  # the default-domain opsets read: what torch.onnx.export and tf2onnx write today
RUNTIME_OPS = dict(OPS, **TENSOR_OPS)
REFUSED_RANDOM = ("RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike", "Multinomial",
                  "Bernoulli")
REFUSED_CONTROL = ("Loop", "If", "Scan")


@dataclass
class OnnxModel:
    """What the ONNX front door read: the graph, its weights by name (each array in its own dtype), and the file's
    producer and opset for the summary."""

    graph: Graph
    named: list  # [("node/role", array)]
    input_names: list  # the ONNX inputs' own names, in the order of graph.inputs (made safe as graph names)
    producer: str = ""
    opset: int = 0


def onnx_contents(path: Path) -> Contents:
    """load.py's loader: the graph and its weights, and what wrote the file."""
    model = read_onnx(path)
    return Contents(graph=model.graph, named=model.named, writer=f"{model.producer} (ONNX opset {model.opset})")


def read_onnx(path: "str | Path") -> OnnxModel:
    """The layer graph and weights of an ONNX model file (and its external data beside it)."""
    path = Path(path)
    model = _load(path)
    opset = next((entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")), 0)
    if opset not in OPSETS:
        raise OnnxOpRefusedError(path, f"the model is ONNX opset {opset}; gfsub reads opsets {OPSETS.start}-"
                                 f"{OPSETS.stop - 1}", "export it again with opset_version between 13 and 21")
    try:
        reader = GraphReader(path, model.graph, opset)
        reader.read_all(TRANSLATORS)
        graph = reader.graph()
    except GfsubError:
        raise
    except Exception as exc:
        _blame_an_invalid_file(path, model, exc)
        raise
    producer = f"{model.producer_name} {model.producer_version}".strip()
    return OnnxModel(graph, reader.named, reader.onnx_inputs, producer, opset)


def _blame_an_invalid_file(path: Path, model, exc: Exception) -> None:
    """Reading failed unforeseen: one line if the ONNX checker finds the model invalid (a damaged file); else it
    stays a gfsub bug."""
    import onnx

    try:
        onnx.checker.check_model(model)
        onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except Exception as invalid:  # noqa: BLE001 - the checker's and shape inference's own error types
        raise CorruptFileError(path, f"not a valid ONNX model ({one_line(invalid)}), which gfsub read as far as "
                               f"{one_line(exc)}", "export the model again") from exc


# ----- the file -----------------------------------------------------------------------------------------------
def _load(path: Path):
    """The ModelProto, its sizes checked before any tensor data is read, external data loaded from beside it, and
    model-local functions inlined."""
    if not path.is_file():
        raise MissingFileError(path, "no such ONNX file", "check the path to your exported model")
    try:
        import onnx
        from google.protobuf.message import DecodeError
        from onnx import external_data_helper
    except ImportError:
        raise MissingPackageError(path, "reading an ONNX model needs the onnx package",
                                  "pip install 'gfsub[onnx]'") from None
    if path.stat().st_size > MAX_MODEL_BYTES:
        raise ModelTooLargeError(path, f"the file is {path.stat().st_size >> 20} MiB, over gfsub's limit of "
                                 f"{MAX_MODEL_BYTES >> 20} MiB", SMALLER)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise CorruptFileError(path, f"not a readable ONNX model ({type(exc).__name__}: {exc})",
                               "export the model again with torch.onnx.export or tf2onnx") from exc
    _check_sizes(path, model.graph)
    for tensor in _stored_tensors(model.graph):
        if external_data_helper.uses_external_data(tensor):
            _check_external(path, tensor)
    try:
        external_data_helper.load_external_data_for_model(model, str(path.parent))
    except (OSError, ValueError) as exc:
        raise CorruptFileError(path, f"cannot read the external data ({exc})",
                               "copy the whole export (the .onnx and its .onnx.data) again") from exc
    if len(model.functions):
        from onnx import inliner

        model = inliner.inline_local_functions(model)
    return model


def _check_external(path: Path, tensor) -> None:
    """A tensor's external data: a file beside the model (not outside its folder), of at most MAX_MODEL_BYTES."""
    location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "")
    try:
        target = (path.parent / location).resolve()
        outside = not location or Path(location).is_absolute() or path.parent.resolve() not in target.parents
        size = target.stat().st_size if not outside and target.is_file() else None
    except (OSError, ValueError) as exc:  # a name too long, a null byte
        raise CorruptFileError(path, f"tensor '{tensor.name}' points at external data it cannot name "
                               f"({one_line(exc)})", "export the model again") from None
    if outside:
        raise CorruptFileError(path, f"tensor '{tensor.name}' points at external data '{location}' outside "
                               "the model's folder", "keep the .onnx.data file beside the .onnx file")
    if size is None:
        raise CorruptFileError(path, f"tensor '{tensor.name}' is stored in '{location}', which is missing",
                               f"copy {location} beside {path.name} (torch writes the weights there)")
    if size > MAX_MODEL_BYTES:
        raise ModelTooLargeError(path, f"its external data '{location}' is {size >> 20} MiB, over gfsub's limit of "
                                 f"{MAX_MODEL_BYTES >> 20} MiB", SMALLER)


def _stored_tensors(graph) -> list:
    """The initializers and the Constant nodes' tensors (subgraphs are refused with their node)."""
    return list(graph.initializer) + [a.t for node in graph.node for a in node.attribute if a.HasField("t")]


def _check_sizes(path: Path, graph) -> None:
    """No initializer, Constant or declared shape over MAX_ELEMENTS, and no more than MAX_MODEL_BYTES stored, read
    from the dims alone."""
    tensors = [(tensor.name, list(tensor.dims)) for tensor in graph.initializer]
    for node in graph.node:
        tensors += [(f"{node.name or node.op_type}.{a.name}", list(a.t.dims)) for a in node.attribute if a.t.dims]
    for info in list(graph.input) + list(graph.output) + list(graph.value_info):
        dims = [d.dim_value for d in info.type.tensor_type.shape.dim]
        tensors.append((info.name, dims))
    for name, dims in tensors:
        check_elements(path, name, dims)
    for tensor in _stored_tensors(graph):
        if tensor.data_type not in NUMPY_DTYPES:
            raise OnnxOpRefusedError(path, f"tensor '{tensor.name}' is of ONNX type {tensor.data_type} (float16, "
                                     "bfloat16, float8 or string), which main.py's numpy does not compute as "
                                     "onnxruntime does", "export the model in float32")
    budget = Budget(path)
    for tensor in _stored_tensors(graph):
        budget.take(tensor.name, elements(tensor.dims) * np.dtype(NUMPY_DTYPES[tensor.data_type]).itemsize)


SAME_SHAPE_OPS = (  # elementwise ops (broadcasting), whose output's data-dependent axes are their operands'
    "activation", "negative", "square_root", "exponential", "logarithm", "absolute", "error_function", "hard_swish",
    "logical_not", "add", "subtract", "multiply", "divide", "truncated_divide", "power", "equal", "less",
    "less_or_equal", "greater", "greater_or_equal", "logical_and", "logical_or", "minimum", "maximum", "where", "cast",
    "clip_between", "leaky_relu", "elu", "scaled_elu", "hard_sigmoid_affine", "softmax", "log_softmax")


def _broadcast_ragged(knowns: list, rank: int) -> frozenset:
    """The data-dependent axes of a broadcast result: each operand's, aligned from the right."""
    return frozenset(axis + rank - np.ndim(known.value) for known in knowns for axis in known.ragged)


# ----- the graph ----------------------------------------------------------------------------------------------
@dataclass
class Known:
    """An ONNX tensor as the reader knows it: a constant (ref None) or a graph tensor, its build-time value (the
    constant, or the probe's), and the axes whose length depends on the data (a NonZero's count, and what follows)."""

    ref: "str | None"
    value: object
    ragged: frozenset = frozenset()


class GraphReader:
    """Reads the ONNX graph's nodes in order into graph nodes; translators (ops.py) call `emit` and `bind`."""

    def __init__(self, path: Path, onnx_graph, opset: int):
        from onnx import numpy_helper

        self.path, self.onnx_graph, self.opset = path, onnx_graph, opset
        self.nodes, self.named, self.known, self.used_names = [], [], {}, set()
        self.inputs, self.input_shapes, self.onnx_inputs, self.counter = [], [], [], 0
        self.constant_nodes = {}  # constant tensor -> the `constant` node made for it, once
        for tensor in onnx_graph.initializer:
            try:
                self.known[tensor.name] = Known(None, numpy_helper.to_array(tensor))
            except (ValueError, TypeError) as exc:
                raise CorruptFileError(path, f"initializer '{tensor.name}' does not hold the data its dims "
                                       f"{list(tensor.dims)} and data type {tensor.data_type} say "
                                       f"({one_line(exc)})", "export the model again") from None
        if len(onnx_graph.sparse_initializer):
            raise OnnxOpRefusedError(path, "the model holds sparse initializers", "export it with dense weights")
        for info in onnx_graph.input:
            if info.name not in self.known:
                self._add_input(info)
        for info in onnx_graph.output:
            dims = list(info.type.tensor_type.shape.dim)
            if dims and dims[0].HasField("dim_value") and dims[0].dim_value != 1:
                raise OnnxOpRefusedError(path, f"output '{info.name}' has no leading batch axis of 1 or dynamic "
                                         f"(its first axis is {dims[0].dim_value})",
                                         "export outputs with the batch axis first, as the inputs")
        self.node = None  # the ONNX node being read

    def _add_input(self, info) -> None:
        tensor_type = info.type.tensor_type
        dtype = NUMPY_DTYPES.get(tensor_type.elem_type)
        if not info.type.HasField("tensor_type") or dtype is None:
            raise OnnxOpRefusedError(self.path, f"input '{info.name}' is not a numeric tensor",
                                     "export a model whose inputs are float or integer tensors")
        dims = list(tensor_type.shape.dim)
        if not dims or (dims[0].HasField("dim_value") and dims[0].dim_value != 1):
            raise OnnxOpRefusedError(self.path, f"input '{info.name}' has no leading batch axis of 1 or dynamic",
                                     "export with a batch axis first (size 1, or dynamic_axes / dynamic_shapes)")
        shape = []
        for dim in dims[1:]:
            if not dim.HasField("dim_value") or dim.dim_value <= 0:
                raise OnnxOpRefusedError(self.path, f"input '{info.name}' has a dynamic axis besides the batch "
                                         f"({dim.dim_param or '?'})", "export with fixed sizes for every axis but "
                                         "the batch (main.py runs one observation at a time)")
            shape.append(int(dim.dim_value))
        check_elements(self.path, info.name, shape)
        name = self._unique(info.name)
        self.nodes.append({"name": name, "op": "input", "shape": shape, "dtype": dtype})
        self.inputs.append(name)
        self.onnx_inputs.append(info.name)
        self.input_shapes.append(shape)
        self.known[info.name] = Known(name, np.zeros([1] + shape, dtype=dtype))

    def _unique(self, onnx_name: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.]+", "_", onnx_name).strip("_.") or "tensor"
        name, k = base, 1
        while name in self.used_names:
            k += 1
            name = f"{base}_{k}"
        self.used_names.add(name)
        return name

    # ----- reading ------------------------------------------------------------------------------------------------
    def read_all(self, translators: dict) -> None:
        consumed = {name for node in self.onnx_graph.node for name in node.input}
        consumed.update(info.name for info in self.onnx_graph.output)
        for node in self.onnx_graph.node:
            self.node = node
            self._check_node(node, translators)
            self._check_inputs(node)
            with np.errstate(all="ignore"):
                translators[node.op_type](self, node)
            for output in node.output:
                if output and output not in self.known and output in consumed:
                    self.refuse(f"its output '{output}' is used, and gfsub reproduces only the op's main output")
        self.node = None

    def _check_node(self, node, translators: dict) -> None:
        if node.domain not in ("", "ai.onnx"):
            self.refuse(f"the op is of the domain '{node.domain}', not ONNX's own",
                        "export with standard ONNX ops only (no custom or contrib ops)")
        if node.op_type in REFUSED_RANDOM:
            self.refuse("a random op: main.py must play the same action for the same observation",
                        "export the logits, not a sample, and let the agent take the argmax")
        if node.op_type in REFUSED_CONTROL:
            self.refuse("control flow, which gfsub does not reproduce",
                        "export a graph without control flow: fixed loop counts unrolled, no data-dependent branch")
        if node.op_type not in translators:
            self.refuse("an op gfsub does not reproduce",
                        "export the model with the ops of docs (Gemm, Conv, LSTM, ...), or the logits only")

    def _check_inputs(self, node) -> None:
        """Every input the node names is made before it: by an input, an initializer or an earlier node."""
        missing = next((name for name in node.input if name and name not in self.known), None)
        if missing is not None:
            raise CorruptFileError(self.path, f"{self._label()} (op {node.op_type}) reads '{missing}', which no "
                                   "input, initializer or earlier node makes", "export the model again")

    def refuse(self, problem: str, fix: str = "gfsub builds only what it reproduces exactly"):
        where = f"{self._label()} (op {self.node.op_type}): " if self.node is not None else ""
        raise OnnxOpRefusedError(self.path, where + problem, fix)

    def _label(self) -> str:
        """The node being read, by its name, else its first output."""
        node = self.node
        return f"node '{node.name or (node.output[0] if node.output else '?')}'"

    # ----- what translators ask ---------------------------------------------------------------------------------
    def attr(self, name: str, default=None):
        from onnx import helper

        for attribute in self.node.attribute:
            if attribute.name == name:
                return helper.get_attribute_value(attribute)
        return default

    def has(self, key: str) -> bool:
        return bool(key) and key in self.known

    def is_constant(self, key: str) -> bool:
        return self.known[key].ref is None

    def constant(self, key: str, what: str = "this input") -> np.ndarray:
        """The build-time value of a constant input; refuses a computed one."""
        if not self.has(key):
            self.refuse(f"{what} is missing")
        if not self.is_constant(key):
            self.refuse(f"{what} ('{key}') is computed from the model's inputs; gfsub needs it constant")
        return self.known[key].value

    def value(self, key: str) -> np.ndarray:
        """The build-time value: the constant, or the probe's value of a computed tensor."""
        return self.known[key].value

    def static_shape(self, key: str, axes=None) -> tuple:
        """A tensor's shape at batch 1; refuses when the length of one of `axes` (default: all) depends on the
        data."""
        shape = tuple(np.shape(self.known[key].value))
        needed = set(range(len(shape)) if axes is None else (a % len(shape) for a in axes))
        if self.known[key].ragged & needed:
            self.refuse(f"it needs the shape of '{key}', whose length depends on the data (it follows a NonZero)")
        return shape

    def ragged(self, key: str) -> frozenset:
        return self.known[key].ragged

    def check_count(self, shape, what: str) -> None:
        check_elements(self.path, f"{what} of {self._label()}", shape)

    def emit(self, op: str, operands: list, weights: "dict | None" = None, outputs: int = 1, ragged=None,
             **settings):
        """One graph node of `op` reading `operands` (ONNX tensor names, or keys an earlier emit returned) -> the
        key of its value (a list of keys when it has several outputs). A node whose operands are all constants is
        computed now and becomes a constant. `ragged`: the output's axes whose length depends on the data ("all",
        or axes); by default none when no operand has any, else broadcast for elementwise ops and all otherwise."""
        weights = dict(weights or {})
        knowns = [self.known[key] for key in operands]
        node, function = dict(settings, op=op), RUNTIME_OPS[op]
        try:
            value = function(node, [known.value for known in knowns], list(weights.values()))
        except (ValueError, IndexError, TypeError, KeyError) as exc:
            shapes = ", ".join(str(tuple(np.shape(known.value))) for known in knowns)
            raise UnsupportedArchitectureError(self.path, f"{self._label()} (op {self.node.op_type}) cannot run on "
                                               f"its inputs of shapes {shapes} ({exc})",
                                               "gfsub reproduces only graphs whose shapes agree") from None
        values = value if outputs > 1 else [value]
        rank = np.ndim(values[0])
        if ragged is None:
            ragged = _broadcast_ragged(knowns, rank) if op in SAME_SHAPE_OPS or not any(k.ragged for k in knowns) \
                else "all"
        ragged = frozenset(range(rank)) if ragged == "all" else frozenset(a % rank for a in ragged) if rank else \
            frozenset()
        if all(known.ref is None for known in knowns):
            keys = [self._new_key(op) for _ in values]
            for key, item in zip(keys, values, strict=True):
                self.known[key] = Known(None, np.asarray(item))
            return keys if outputs > 1 else keys[0]
        name = self._unique(self.node.output[0] if self.node.output else self.node.op_type)
        node = {"name": name, "op": op, "inputs": [self._reference(key) for key in operands]}
        if weights:
            node["weights"] = [f"{name}/{role}" for role in weights]
            self.named += [(f"{name}/{role}", array) for role, array in weights.items()]
        node.update(settings)
        self.nodes.append(node)
        refs = [f"{name}:{k}" for k in range(outputs)] if outputs > 1 else [name]
        keys = []
        for ref, item in zip(refs, values, strict=True):
            self.known[ref] = Known(ref, item, ragged)
            keys.append(ref)
        return keys if outputs > 1 else keys[0]

    def bind(self, index: int, key: str) -> None:
        """Output `index` of the ONNX node is the tensor `key`."""
        self.known[self.node.output[index]] = self.known[key]

    def bind_constant(self, index: int, array) -> None:
        self.known[self.node.output[index]] = Known(None, np.asarray(array))

    def _new_key(self, op: str) -> str:
        self.counter += 1
        return f"#{op}:{self.counter}"

    def _reference(self, key: str):
        """The graph reference of a tensor: its node, or a `constant` node made for a constant (a float32 scalar
        stays inline)."""
        known = self.known[key]
        if known.ref is not None:
            return known.ref
        array = np.asarray(known.value)
        if array.ndim == 0 and array.dtype == np.float32:
            return float(array)
        if key not in self.constant_nodes:
            self.constant_nodes[key] = self._constant_node(key, array)
        return self.constant_nodes[key]

    def _constant_node(self, key: str, array: np.ndarray) -> str:
        name = self._unique(f"const_{key}")
        self.nodes.append({"name": name, "op": "constant", "inputs": [], "weights": [name + CONSTANT_ROLE]})
        self.named.append((name + CONSTANT_ROLE, array))
        return name

    # ----- the result ---------------------------------------------------------------------------------------------
    def graph(self) -> Graph:
        outputs = []
        for info in self.onnx_graph.output:
            known = self.known.get(info.name)
            if known is None:
                raise OnnxOpRefusedError(self.path, f"output '{info.name}' is computed by no node", "export again")
            reference = self._reference(info.name)
            if not isinstance(reference, str):  # a float32 scalar constant output: a node all the same
                reference = self._constant_node(info.name, np.asarray(known.value))
            outputs.append(reference)
        used = {tensor_name(item)[0] for node in self.nodes for item in node.get("inputs", []) if isinstance(item, str)}
        used.update(tensor_name(item)[0] for item in outputs)
        nodes = [node for node in self.nodes if node["op"] == "input" or node["name"] in used or
                 node["op"] != "constant"]
        kept = {name for node in nodes for name in node.get("weights", [])}
        self.named = [(name, array) for name, array in self.named if name in kept]
        return Graph(inputs=self.inputs, input_shapes=self.input_shapes, outputs=outputs, nodes=nodes,
                     output=outputs[0] if outputs else "", input_names=list(self.onnx_inputs),
                     output_names=[info.name for info in self.onnx_graph.output], source_tensors=self.source_tensors())

    def source_tensors(self) -> list:
        """Each ONNX node's first output that is a graph tensor (not folded to a constant), in the file's order:
        where to look when numpy and onnxruntime part."""
        found = []
        for node in self.onnx_graph.node:
            known = self.known.get(node.output[0]) if node.output else None
            if known is not None and known.ref is not None and not any(known.ref == ref for _, ref, _ in found):
                found.append((node.output[0], known.ref, f"node '{node.name or node.output[0]}' (op {node.op_type})"))
        return found
