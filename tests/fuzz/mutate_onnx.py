"""Mutations of an ONNX ModelProto, made with the onnx package: shapes, dtypes, nodes, opsets, external data.

An initializer's dims inflated by 10^6 or changed against its data, its data type changed; a node deleted, retyped,
rewired; an attribute deleted or retyped; another opset; an input's declared shape inflated; an output deleted;
a type nested 10^5 deep (written as raw protobuf, which the onnx package cannot make); external data pointing
elsewhere, or its file cut short.
"""

import random

import onnx

from tests.fuzz.mutate_bytes import DEEP, Skip

DATA_TYPES = (2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 0, 99)
OP_TYPES = ("Foo", "Loop", "RandomNormal", "Relu", "Gemm", "Softmax", "Reshape", "Identity", "LSTM", "Conv")


def _model(data: bytes):
    try:
        return onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 - an already damaged seed is no seed for these
        raise Skip from None


def _initializer(rng: random.Random, model):
    if not model.graph.initializer:
        raise Skip
    return rng.choice(model.graph.initializer)


def dims(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    tensor = _initializer(rng, model)
    old = list(tensor.dims)
    new = rng.choice(([old[0] * 10 ** 6] + old[1:] if old else [10 ** 6], old[::-1], old + [2], old[1:],
                      [d + 1 for d in old], [-1] + old[1:], [2 ** 62]))
    del tensor.dims[:]
    tensor.dims.extend(new)
    return model.SerializeToString(), f"initializer {tensor.name} dims {old} -> {new}"


def data_type(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    tensor = _initializer(rng, model)
    tensor.data_type = rng.choice(DATA_TYPES)
    return model.SerializeToString(), f"initializer {tensor.name} data_type {tensor.data_type}"


def node(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    nodes = model.graph.node
    index = rng.randrange(len(nodes))
    target, choice = nodes[index], rng.randrange(4)
    if choice == 0:
        del nodes[index]
        return model.SerializeToString(), f"node {index} ({target.op_type}) deleted"
    if choice == 1:
        old, target.op_type = target.op_type, rng.choice(OP_TYPES)
        return model.SerializeToString(), f"node {index} {old} -> {target.op_type}"
    if choice == 2 and target.input:
        slot = rng.randrange(len(target.input))
        target.input[slot] = rng.choice(("missing", target.output[0] if target.output else "", ""))
        return model.SerializeToString(), f"node {index} ({target.op_type}) input {slot} rewired"
    if not target.attribute:
        raise Skip
    attribute = rng.choice(target.attribute)
    if rng.random() < 0.5:
        target.attribute.remove(attribute)
        return model.SerializeToString(), f"node {index} ({target.op_type}) attribute {attribute.name} deleted"
    attribute.type, attribute.i = rng.choice((1, 2, 3, 4, 5, 6, 7, 0)), rng.choice((-1, 0, 10 ** 12))
    return model.SerializeToString(), f"node {index} ({target.op_type}) attribute {attribute.name} retyped"


def opset(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    version = rng.choice((1, 7, 12, 22, 99))
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            entry.version = version
    return model.SerializeToString(), f"opset {version}"


def io_shape(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    info = rng.choice(list(model.graph.input) + list(model.graph.output))
    shape = info.type.tensor_type.shape
    if not shape.dim:
        raise Skip
    dim = rng.choice(shape.dim)
    dim.dim_value = rng.choice((dim.dim_value * 10 ** 6, 0, 2 ** 40, 3))
    return model.SerializeToString(), f"{info.name}'s declared dim -> {dim.dim_value}"


def outputs(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    if rng.random() < 0.5 and len(model.graph.output):
        gone = model.graph.output.pop(rng.randrange(len(model.graph.output)))
        return model.SerializeToString(), f"output {gone.name} deleted"
    model.graph.output.append(rng.choice(list(model.graph.output) or list(model.graph.input)))
    return model.SerializeToString(), "an output listed twice"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def deep_type(rng: random.Random, data: bytes) -> tuple:
    """A value_info whose TypeProto is a sequence of a sequence of ... 10^5 deep, appended as raw protobuf."""
    size, prefixes = 0, []
    for level in range(DEEP):  # an empty TypeProto in Sequence.elem_type (1), in TypeProto.sequence_type (4), ...
        prefix = (b"\x22" if level % 2 else b"\x0a") + _varint(size)
        prefixes.append(prefix)
        size += len(prefix)
    inner = b"".join(reversed(prefixes))
    value_info = b"\x0a\x04deep" + b"\x12" + _varint(len(inner)) + inner
    graph = b"\x6a" + _varint(len(value_info)) + value_info  # GraphProto.value_info (13)
    return data + b"\x3a" + _varint(len(graph)) + graph, "a type nested 10^5 deep"  # ModelProto.graph (7)


def external_location(rng: random.Random, data: bytes) -> tuple:
    model = _model(data)
    stored = [t for t in model.graph.initializer if t.external_data]
    if not stored:
        raise Skip
    tensor = rng.choice(stored)
    entry = rng.choice(tensor.external_data)
    entry.value = rng.choice(("../outside.data", "/etc/passwd", "missing.data", "-1", "99999999999", "", "x" * 300))
    return model.SerializeToString(), f"initializer {tensor.name} external {entry.key} = {entry.value[:20]!r}"


ONNX_MUTATORS = (dims, dims, data_type, node, node, opset, io_shape, outputs, deep_type, external_location)


def random_onnx(rng: random.Random, data: bytes) -> tuple:
    return rng.choice(ONNX_MUTATORS)(rng, data)
