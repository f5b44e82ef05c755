"""The ONNX front door: every op it reads, in a small graph built with onnx.helper, plays like onnxruntime.

Each graph is run by onnxruntime and by gfsub's reader + GraphModel (the numpy forward main.py runs), on the same
random inputs (seed 0), and every output must agree within 1e-4 * max(1, |reference|). Ops gfsub will not reproduce
(random, control flow, unknown) are refused by name.
"""

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from agent_runtime.activations import ERF_BY_ELEMENT, erf  # noqa: E402
from agent_runtime.convolution import blocks_pay  # noqa: E402
from agent_runtime.graph import GraphModel  # noqa: E402
from builder.model_graph import check_graph  # noqa: E402
from builder.onnx import ModelTooLargeError, OnnxOpRefusedError, read_onnx  # noqa: E402
from common.errors import CorruptFileError  # noqa: E402

F, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
NUMPY = {F: np.float32, I64: np.int64, BOOL: np.bool_}
# The 2020 runtime's interpreter (Python 3.7, numpy 1.18); GFSUB_OLD_PYTHON names another (numpy 1.16, say).
PY37 = Path(os.environ.get("GFSUB_OLD_PYTHON", Path.home() / ".cache/gfsub/runtimes/kaggle-2020/bin/python"))


# ----- building and comparing ---------------------------------------------------------------------------------
def tensor(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def model(nodes, inputs, outputs, initializers=(), opset=17):
    """inputs: [(name, elem type, shape)]; outputs: names (float) or (name, elem type)."""
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
        [helper.make_tensor_value_info(*((item, F) if isinstance(item, str) else item), None) for item in outputs],
        [tensor(name, array) for name, array in dict(initializers).items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def random_feeds(proto, positive=False, integers=None):
    rng = np.random.default_rng(0)
    feeds = {}
    for info in proto.graph.input:
        shape = [d.dim_value or 1 for d in info.type.tensor_type.shape.dim]
        kind = info.type.tensor_type.elem_type
        if integers is not None and info.name in integers:
            feeds[info.name] = np.asarray(integers[info.name], dtype=NUMPY[kind]).reshape(shape)
        elif kind == F:
            values = rng.standard_normal(shape).astype(np.float32) * 2
            feeds[info.name] = np.abs(values) + np.float32(0.1) if positive else values
        else:
            feeds[info.name] = rng.integers(0, 3, shape).astype(NUMPY[kind])
    return feeds


def assert_plays_like_onnxruntime(tmp_path, proto, feeds=None, oracle="onnxruntime", **feed_options):
    """With oracle="reference", onnx's own reference evaluator instead (for what onnxruntime does not run)."""
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path))
    feeds = feeds or random_feeds(proto, **feed_options)
    if oracle == "reference":
        from onnx.reference import ReferenceEvaluator

        expected = ReferenceEvaluator(proto).run(None, feeds)
    else:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        expected = session.run(None, feeds)
    read = read_onnx(path)
    ours = run_graph(read, feeds)
    for name, reference, value in zip([o.name for o in proto.graph.output], expected, ours, strict=True):
        assert_close(name, reference, value)
    return read


def run_graph(read, feeds):
    data = read.graph.as_data()
    model_ = GraphModel(data, read.named)
    values = model_.run([feeds[name] for name in read.input_names])
    return [np.asarray(GraphModel.value(values, reference)) for reference in read.graph.outputs]


def assert_close(name, reference, value):
    assert value.shape == reference.shape, f"{name}: shape {value.shape}, onnxruntime {reference.shape}"
    if reference.dtype.kind in "biu":
        assert value.dtype.kind == reference.dtype.kind, f"{name}: dtype {value.dtype}, onnxruntime {reference.dtype}"
        np.testing.assert_array_equal(value, reference, err_msg=name)
        return
    reference64, value64 = reference.astype(np.float64), value.astype(np.float64)
    bound = 1e-4 * np.maximum(1.0, np.abs(reference64))
    worst = np.max(np.abs(value64 - reference64) - bound) if reference.size else -1
    assert worst <= 0, f"{name}: off by more than 1e-4 * max(1, |ref|) (by {worst:.3g} beyond)"


def node(op, inputs, outputs, **attributes):
    return helper.make_node(op, inputs, outputs, **attributes)


def one_op(op, shape=(1, 7), opset=17, inits=(), extra_inputs=(), **attributes):
    """x (and extra inputs) -> op -> y."""
    names = ["x"] + [name for name, _, _ in extra_inputs] + list(dict(inits))
    return model([node(op, names, ["y"], **attributes)], [("x", F, list(shape))] + list(extra_inputs), ["y"],
                 inits, opset)


# ----- elementwise --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, attributes, positive", [
    ("Neg", {}, False), ("Sqrt", {}, True), ("Exp", {}, False), ("Log", {}, True), ("Abs", {}, False),
    ("Relu", {}, False), ("Sigmoid", {}, False), ("Tanh", {}, False), ("Softplus", {}, False), ("Erf", {}, False),
    ("HardSwish", {}, False), ("LeakyRelu", {"alpha": 0.1}, False), ("LeakyRelu", {}, False),
    ("Elu", {"alpha": 0.7}, False), ("Selu", {}, False), ("Selu", {"alpha": 1.5, "gamma": 1.1}, False),
    ("HardSigmoid", {}, False), ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, False),
])
def test_unary_ops_play_like_onnxruntime(tmp_path, op, attributes, positive):
    assert_plays_like_onnxruntime(tmp_path, one_op(op, shape=("N", 3, 7), **attributes), positive=positive)


def test_erf_written_as_gelu_plays_like_onnxruntime(tmp_path):
    nodes = [node("Div", ["x", "sqrt2"], ["a"]), node("Erf", ["a"], ["b"]), node("Add", ["b", "one"], ["c"]),
             node("Mul", ["x", "c"], ["d"]), node("Mul", ["d", "half"], ["y"])]
    inits = {"sqrt2": np.float32(np.sqrt(2)), "one": np.float32(1), "half": np.float32(0.5)}
    assert_plays_like_onnxruntime(tmp_path, model(nodes, [("x", F, [1, 64])], ["y"], inits))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_of_opset_20_plays_like_onnxruntime(tmp_path, approximate):
    assert_plays_like_onnxruntime(tmp_path, one_op("Gelu", shape=("N", 3, 7), opset=20, approximate=approximate))


def test_erf_of_a_large_tensor_plays_like_onnxruntime(tmp_path):
    """Over ERF_BY_ELEMENT values erf is a polynomial, not math.erf one by one."""
    assert_plays_like_onnxruntime(tmp_path, one_op("Erf", shape=(1, 4 * ERF_BY_ELEMENT)))


def test_erf_both_ways_is_within_float32_of_the_c_library():
    x = np.linspace(-6, 6, 4001, dtype=np.float32)
    exact = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert x.size > ERF_BY_ELEMENT
    assert np.abs(erf(x) - exact).max() <= 2.5e-7  # erfc's fractional error 1.2e-7, erfc <= 2; float32 rounding
    pieces = [x[k:k + ERF_BY_ELEMENT] for k in range(0, x.size, ERF_BY_ELEMENT)]
    by_element = np.concatenate([erf(piece) for piece in pieces])
    assert np.abs(by_element - exact).max() <= 6e-8  # the C library's, rounded to float32: half an ulp of 1
    assert not np.array_equal(by_element, erf(x))  # two ways indeed


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Min", "Max", "Pow"])
@pytest.mark.parametrize("other", ["input", "vector", "scalar"])
def test_binary_ops_play_like_onnxruntime(tmp_path, op, other):
    if other == "input":
        proto = one_op(op, shape=(1, 3, 5), extra_inputs=[("z", F, [1, 1, 5])])
    else:
        value = np.linspace(0.5, 2.0, 5, dtype=np.float32) if other == "vector" else np.float32(2.0)
        proto = one_op(op, shape=(1, 3, 5), inits={"z": value})
    assert_plays_like_onnxruntime(tmp_path, proto, positive=op == "Pow")


def test_variadic_min_max_and_integer_div(tmp_path):
    nodes = [node("Max", ["x", "z", "w"], ["y1"]), node("Min", ["x", "z", "w"], ["y2"]),
             node("Div", ["k", "three"], ["y3"])]
    proto = model(nodes, [("x", F, [1, 4]), ("z", F, [1, 4]), ("w", F, [1, 4]), ("k", I64, [1, 4])],
                  ["y1", "y2", ("y3", I64)], {"three": np.array([3, -3, 3, -3], dtype=np.int64)})
    assert_plays_like_onnxruntime(tmp_path, proto, feeds={
        "x": np.ones((1, 4), np.float32), "z": np.full((1, 4), 2, np.float32),
        "w": np.arange(4, dtype=np.float32)[None],
        "k": np.array([[7, 7, -7, -8]], dtype=np.int64)})


@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (-0.5, None), (None, 0.3)])
def test_clip_plays_like_onnxruntime(tmp_path, bounds):
    low, high = bounds
    inits = {}
    if low is not None:
        inits["low"] = np.float32(low)
    if high is not None:
        inits["high"] = np.float32(high)
    names = ["x", "low" if low is not None else "", "high" if high is not None else ""]
    proto = model([node("Clip", names, ["y"])], [("x", F, [1, 9])], ["y"], inits)
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("axis", [-1, 1])
def test_softmax_plays_like_onnxruntime(tmp_path, op, axis):
    assert_plays_like_onnxruntime(tmp_path, one_op(op, shape=(1, 3, 5), axis=axis))


# ----- matrix products ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("trans_a, trans_b", [(0, 0), (0, 1), (1, 0), (1, 1)])
@pytest.mark.parametrize("alpha, beta", [(1.0, 1.0), (0.5, 2.0)])
@pytest.mark.parametrize("b_kind", ["constant", "input"])
def test_gemm_plays_like_onnxruntime(tmp_path, trans_a, trans_b, alpha, beta, b_kind):
    rng = np.random.default_rng(1)
    a_shape = [6, 1] if trans_a else [1, 6]  # A' is (M, K): M = 1 (batch), or M = 6 when A' = A^T of (1, 6)
    k = 1 if trans_a else 6
    b = rng.standard_normal((4, k) if trans_b else (k, 4)).astype(np.float32)
    c = rng.standard_normal(4).astype(np.float32)
    attributes = {"transA": trans_a, "transB": trans_b, "alpha": alpha, "beta": beta}
    a_input = ("a", F, a_shape if not trans_a else [1, 6])
    if trans_a:
        a_shape = [1, 6]
    if b_kind == "constant":
        proto = model([node("Gemm", ["a", "b", "c"], ["y"], **attributes)], [a_input], ["y"], {"b": b, "c": c})
    else:  # B computed from a model input (inputs carry the batch axis first)
        proto = model([node("Reshape", ["flat_b", "b_shape"], ["b"]), node("Gemm", ["a", "b", "c"], ["y"],
                                                                            **attributes)],
                      [a_input, ("flat_b", F, [1, b.size])], ["y"], {"c": c, "b_shape": np.array(b.shape)})
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    if b_kind == "constant":
        assert "dense" in [n["op"] for n in read.graph.nodes]  # an ONNX Gemm and a Keras Dense run the same code


@pytest.mark.parametrize("case", ["2d_constant", "batched_constant", "batched_inputs", "constant_left"])
def test_matmul_plays_like_onnxruntime(tmp_path, case):
    rng = np.random.default_rng(2)
    if case == "2d_constant":
        proto = one_op("MatMul", shape=(1, 5), inits={"w": rng.standard_normal((5, 3)).astype(np.float32)})
    elif case == "batched_constant":
        proto = one_op("MatMul", shape=(1, 3, 4, 5), inits={"w": rng.standard_normal((5, 2)).astype(np.float32)})
    elif case == "batched_inputs":
        proto = one_op("MatMul", shape=(1, 3, 4, 5), extra_inputs=[("z", F, [1, 3, 5, 2])])
    else:
        proto = model([node("MatMul", ["w", "x"], ["y"])], [("x", F, [1, 4, 5])], ["y"],
                      {"w": rng.standard_normal((3, 4)).astype(np.float32)})
    assert_plays_like_onnxruntime(tmp_path, proto)


# ----- normalization ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 4, 5, 5), (1, 4, 7), (1, 4)])
def test_batch_normalization_plays_like_onnxruntime(tmp_path, shape):
    rng = np.random.default_rng(3)
    inits = {"scale": rng.standard_normal(4), "bias": rng.standard_normal(4), "mean": rng.standard_normal(4),
             "var": rng.uniform(0.5, 2, 4)}
    inits = {key: value.astype(np.float32) for key, value in inits.items()}
    proto = model([node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], epsilon=1e-3)],
                  [("x", F, list(shape))], ["y"], inits)
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    assert [n["op"] for n in read.graph.nodes if n["op"] != "input"] == ["batch_norm"]


@pytest.mark.parametrize("axis, bias", [(-1, True), (-1, False), (-2, True)])
def test_layer_normalization_opset17_plays_like_onnxruntime(tmp_path, axis, bias):
    rng = np.random.default_rng(4)
    normalized = (3, 8)[axis:] if axis == -1 else (3, 8)
    inits = {"scale": rng.standard_normal(normalized).astype(np.float32)}
    if bias:
        inits["bias"] = rng.standard_normal(normalized).astype(np.float32)
    proto = model([node("LayerNormalization", ["x", "scale"] + (["bias"] if bias else []), ["y"], axis=axis,
                        epsilon=1e-5)], [("x", F, [1, 3, 8])], ["y"], inits, opset=17)
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    assert "layer_norm" in [n["op"] for n in read.graph.nodes]


@pytest.mark.parametrize("opset", [13, 18])
def test_layer_norm_as_torch_writes_it_below_opset_17(tmp_path, opset):
    """ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add: axes an attribute in opset 13, an input in 18."""
    rng = np.random.default_rng(5)
    axes = {"axes": [-1]} if opset == 13 else {}
    extra = ["axes"] if opset == 18 else []
    nodes = [node("ReduceMean", ["x"] + extra, ["mean"], keepdims=1, **axes), node("Sub", ["x", "mean"], ["d"]),
             node("Pow", ["d", "two"], ["sq"]), node("ReduceMean", ["sq"] + extra, ["var"], keepdims=1, **axes),
             node("Add", ["var", "eps"], ["ve"]), node("Sqrt", ["ve"], ["std"]), node("Div", ["d", "std"], ["n"]),
             node("Mul", ["n", "gamma"], ["s"]), node("Add", ["s", "beta"], ["y"])]
    inits = {"two": np.float32(2), "eps": np.float32(1e-5), "gamma": rng.standard_normal(16).astype(np.float32),
             "beta": rng.standard_normal(16).astype(np.float32)}
    if opset == 18:
        inits["axes"] = np.array([-1], dtype=np.int64)
    assert_plays_like_onnxruntime(tmp_path, model(nodes, [("x", F, [1, 16])], ["y"], inits, opset))


# ----- convolution and pooling --------------------------------------------------------------------------------
BLOCKED_CASES = [  # strides that divide the kernel: convolution.py's blocks, not im2col
    ((1, 16, 36, 46), (8, 16, 8, 8), {"strides": [4, 4]}),  # an SMM's first layer, rows and columns left over
    ((1, 6, 21, 23), (3, 6, 6, 4), {"strides": [3, 2], "pads": [1, 0, 2, 1]}),
]
CONV_CASES = [
    # (input shape, kernel shape, attributes)
    ((1, 3, 9, 11), (4, 3, 3, 3), {}),
    ((1, 3, 9, 11), (4, 3, 3, 3), {"pads": [1, 1, 1, 1]}),
    ((1, 3, 9, 11), (4, 3, 3, 2), {"pads": [0, 1, 2, 0], "strides": [2, 3]}),
    ((1, 3, 9, 11), (4, 3, 3, 3), {"dilations": [2, 1], "pads": [2, 1, 2, 1]}),
    ((1, 4, 9, 11), (6, 2, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    ((1, 4, 9, 11), (4, 1, 3, 3), {"group": 4, "strides": [2, 2]}),  # depthwise
    ((1, 3, 9, 11), (4, 3, 4, 4), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ((1, 3, 9, 11), (4, 3, 4, 4), {"auto_pad": "SAME_LOWER", "strides": [2, 2]}),
    ((1, 3, 9, 11), (4, 3, 3, 3), {"auto_pad": "VALID"}),
    ((1, 3, 10), (5, 3, 1), {}),  # Conv1d k=1
    ((1, 3, 10), (5, 3, 3), {"pads": [2, 1], "strides": [2], "dilations": [2]}),
    ((1, 4, 10), (4, 2, 3), {"group": 2, "pads": [1, 1]}),
    *BLOCKED_CASES,
]


@pytest.mark.parametrize("shape, kernel, attributes", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_plays_like_onnxruntime(tmp_path, shape, kernel, attributes, bias):
    rng = np.random.default_rng(6)
    inits = {"w": rng.standard_normal(kernel).astype(np.float32)}
    if bias:
        inits["b"] = rng.standard_normal(kernel[0]).astype(np.float32)
    proto = model([node("Conv", ["x", "w"] + (["b"] if bias else []), ["y"], **attributes)],
                  [("x", F, list(shape))], ["y"], inits)
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("shape, kernel, attributes", BLOCKED_CASES)
def test_blocked_cases_run_by_blocks(shape, kernel, attributes):
    """The cases above that must take the blocked path do (else they would test im2col twice)."""
    pads = attributes.get("pads", [0, 0, 0, 0])
    image = np.zeros((shape[0], shape[2] + pads[0] + pads[2], shape[3] + pads[1] + pads[3], shape[1]), np.float32)
    weights = np.zeros(kernel, np.float32).transpose(2, 3, 1, 0)
    assert blocks_pay(image, weights, attributes["strides"], (1, 1), 1)


POOL_CASES = [
    ((1, 3, 9, 11), {"kernel_shape": [2, 2], "strides": [2, 2]}),
    ((1, 3, 9, 11), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((1, 3, 9, 11), {"kernel_shape": [3, 2], "strides": [1, 2], "pads": [0, 1, 2, 0]}),
    ((1, 3, 8, 8), {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ((1, 3, 9, 9), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),  # no partial window
    ((1, 3, 10), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),
]


@pytest.mark.parametrize("shape, attributes", POOL_CASES)
@pytest.mark.parametrize("op, extra", [("MaxPool", {}), ("AveragePool", {"count_include_pad": 0}),
                                       ("AveragePool", {"count_include_pad": 1})])
def test_pooling_plays_like_onnxruntime(tmp_path, shape, attributes, op, extra):
    assert_plays_like_onnxruntime(tmp_path, one_op(op, shape=shape, **attributes, **extra))


def test_max_pool_with_dilations_plays_like_onnxruntime(tmp_path):
    proto = one_op("MaxPool", shape=(1, 2, 9, 9), kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pooling_plays_like_onnxruntime(tmp_path, op):
    assert_plays_like_onnxruntime(tmp_path, one_op(op, shape=(1, 3, 6, 5)))


@pytest.mark.parametrize("exported_as", ["GlobalAveragePool", "ReduceMean", "AveragePool"])
def test_adaptive_avg_pool2d_as_torch_exports_it(tmp_path, exported_as):
    """AdaptiveAvgPool2d((1, 1)) -> GlobalAveragePool (TorchScript) or ReduceMean (dynamo); (2, 3) of (8, 9) ->
    AveragePool with kernel = stride."""
    if exported_as == "GlobalAveragePool":
        proto = one_op("GlobalAveragePool", shape=(1, 3, 8, 9))
    elif exported_as == "ReduceMean":
        proto = model([node("ReduceMean", ["x", "axes"], ["y"], keepdims=1)], [("x", F, [1, 3, 8, 9])], ["y"],
                      {"axes": np.array([-1, -2], dtype=np.int64)}, opset=18)
    else:
        proto = one_op("AveragePool", shape=(1, 3, 8, 9), kernel_shape=[4, 3], strides=[4, 3])
    assert_plays_like_onnxruntime(tmp_path, proto)


# ----- shapes and indexing ------------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_flatten_plays_like_onnxruntime(tmp_path, axis):
    assert_plays_like_onnxruntime(tmp_path, one_op("Flatten", shape=(1, 3, 4, 2), axis=axis))


@pytest.mark.parametrize("target", [[1, -1], [0, 4, 6], [1, 2, -1, 3], [-1]])
def test_reshape_plays_like_onnxruntime(tmp_path, target):
    proto = one_op("Reshape", shape=(1, 4, 6), inits={"shape": np.array(target, dtype=np.int64)})
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_shape_plumbing_is_folded_at_build_time(tmp_path):
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape; Range over a Shape, Cast; ConstantOfShape of a Shape."""
    nodes = [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["b"], axis=0),
             node("Unsqueeze", ["b", "axes0"], ["b1"]), node("Concat", ["b1", "minus_one"], ["target"], axis=0),
             node("Reshape", ["x", "target"], ["flat"]),
             node("Gather", ["s", "two"], ["n"], axis=0), node("Range", ["start", "n", "step"], ["r"]),
             node("Cast", ["r"], ["rf"], to=F), node("Add", ["x", "rf"], ["shifted"]),
             node("Shape", ["shifted"], ["s2"]),
             node("ConstantOfShape", ["s2"], ["twos"], value=helper.make_tensor("v", F, [1], [2.0])),
             node("Mul", ["shifted", "twos"], ["scaled"]), node("Flatten", ["scaled"], ["y2"]),
             node("Add", ["flat", "y2"], ["y"])]
    inits = {"zero": np.array(0, dtype=np.int64), "two": np.array(2, dtype=np.int64),
             "axes0": np.array([0], dtype=np.int64), "minus_one": np.array([-1], dtype=np.int64),
             "start": np.array(0, dtype=np.int64), "step": np.array(1, dtype=np.int64)}
    proto = model(nodes, [("x", F, ["batch", 3, 5])], ["y"], inits)
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    ops = {n["op"] for n in read.graph.nodes}
    assert not ops & {"shape_of", "arange", "filled", "gather", "concatenate"}  # all computed at build time


@pytest.mark.parametrize("perm", [None, [0, 2, 1], [0, 3, 1, 2]])
def test_transpose_plays_like_onnxruntime(tmp_path, perm):
    shape = (1, 3, 4) if perm != [0, 3, 1, 2] else (1, 3, 4, 5)
    attributes = {"perm": perm} if perm else {}
    assert_plays_like_onnxruntime(tmp_path, one_op("Transpose", shape=shape, **attributes))


@pytest.mark.parametrize("axes", [None, [2], [-1, 2]])
def test_squeeze_plays_like_onnxruntime(tmp_path, axes):
    inits = {"axes": np.array(axes, dtype=np.int64)} if axes else {}
    assert_plays_like_onnxruntime(tmp_path, one_op("Squeeze", shape=(1, 3, 1, 1), inits=inits))


@pytest.mark.parametrize("axes", [[1], [-1], [0, 3]])
def test_unsqueeze_plays_like_onnxruntime(tmp_path, axes):
    assert_plays_like_onnxruntime(tmp_path, one_op("Unsqueeze", shape=(1, 3, 4),
                                                   inits={"axes": np.array(axes, dtype=np.int64)}))


def test_concat_with_a_constant_plays_like_onnxruntime(tmp_path):
    proto = model([node("Concat", ["x", "c", "z"], ["y"], axis=-1)], [("x", F, [1, 2, 3]), ("z", F, [1, 2, 1])],
                  ["y"], {"c": np.ones((1, 2, 2), np.float32)})
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_a_constant_read_by_several_nodes_stays_a_constant(tmp_path):
    """A weight an elementwise node reads (made a `constant` node) is still a constant for the Gemm after it."""
    w = np.random.default_rng(14).standard_normal((4, 4)).astype(np.float32)
    proto = model([node("Add", ["x", "w"], ["y1"]), node("Gemm", ["x", "w"], ["y2"]), node("Mul", ["x", "w"], ["y3"])],
                  [("x", F, [1, 4])], ["y1", "y2", "y3"], {"w": w})
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    assert [n["op"] for n in read.graph.nodes].count("constant") == 1


@pytest.mark.parametrize("opset, sizes, outputs, axis", [
    (13, [2, 5], 2, 1), (13, None, 3, -1), (18, [1, 6], 2, 1), (18, None, 3, 1), (18, None, 2, 2)])
def test_split_plays_like_onnxruntime(tmp_path, opset, sizes, outputs, axis):
    names = [f"y{k}" for k in range(outputs)]
    attributes = {"axis": axis}
    if opset >= 18 and sizes is None:
        attributes["num_outputs"] = outputs
    inits = {"split": np.array(sizes, dtype=np.int64)} if sizes else {}
    proto = model([node("Split", ["x"] + (["split"] if sizes else []), names, **attributes)],
                  [("x", F, [1, 7, 6])], names, inits, opset)
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("starts, ends, axes, steps", [
    ([1], [3], [1], None), ([-3], [100], [2], None), ([0, -1], [2, -100], [1, 2], [1, -1]),
    ([-1], [-1000], [1], [-2]), ([4, 1], [0, 5], [2, 1], [-1, 2]), ([2], [-2], None, None)])
def test_slice_plays_like_onnxruntime(tmp_path, starts, ends, axes, steps):
    inits = {"starts": np.array(starts, dtype=np.int64), "ends": np.array(ends, dtype=np.int64)}
    names = ["x", "starts", "ends"]
    if axes is not None:
        inits["axes"] = np.array(axes, dtype=np.int64)
        names.append("axes")
    if steps is not None:
        inits["steps"] = np.array(steps, dtype=np.int64)
        names += [""] * (4 - len(names)) + ["steps"]
        if axes is None:
            names[3] = ""
    proto = model([node("Slice", names, ["y"])], [("x", F, [1, 5, 6])], ["y"], inits)
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_gather_embedding_keeps_int64_indices(tmp_path):
    """An int64 input indexing a constant table (axis 0): the input stays int64."""
    table = np.random.default_rng(7).standard_normal((10, 4)).astype(np.float32)
    proto = model([node("Gather", ["table", "ids"], ["y"], axis=0)], [("ids", I64, [1, 3])], ["y"],
                  {"table": table})
    read = assert_plays_like_onnxruntime(tmp_path, proto, integers={"ids": [[9, 0, 4]]})
    assert read.graph.nodes[0]["dtype"] == "int64"


@pytest.mark.parametrize("indices", [np.array([2, 0], dtype=np.int64), np.array(1, dtype=np.int64),
                                     np.array([-1], dtype=np.int64)])
def test_gather_on_axis_1_plays_like_onnxruntime(tmp_path, indices):
    proto = model([node("Gather", ["x", "i"], ["y"], axis=1)], [("x", F, [1, 4, 3])], ["y"], {"i": indices})
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_gather_nd_one_hot_rows_of_an_eye(tmp_path):
    """Dynamo's `eye[idx]`: GatherND of a constant identity with an int64 index."""
    proto = model([node("Unsqueeze", ["idx", "axes"], ["i2"]), node("GatherND", ["eye", "i2"], ["y"])],
                  [("idx", I64, [1])], ["y"], {"eye": np.eye(5, dtype=np.float32),
                                              "axes": np.array([-1], dtype=np.int64)})
    assert_plays_like_onnxruntime(tmp_path, proto, integers={"idx": [3]})


@pytest.mark.parametrize("batch_dims", [0, 1])
def test_gather_nd_index_picks(tmp_path, batch_dims):
    indices = np.array([[[1], [0]]], dtype=np.int64) if batch_dims else np.array([[0, 2], [0, 1]], dtype=np.int64)
    proto = model([node("GatherND", ["x", "i"], ["y"], batch_dims=batch_dims)], [("x", F, [1, 3, 4])], ["y"],
                  {"i": indices})
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("op, argument", [("Expand", [1, 3, 4]), ("Expand", [2, 1, 1, 4]), ("Tile", [1, 2, 3])])
def test_expand_and_tile_play_like_onnxruntime(tmp_path, op, argument):
    proto = one_op(op, shape=(1, 1, 4), inits={"arg": np.array(argument, dtype=np.int64)})
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("op", ["Identity", "Dropout"])
def test_identity_and_dropout_leave_the_tensor(tmp_path, op):
    proto = model([node(op, ["x"], ["a"]), node("Relu", ["a"], ["y"])], [("x", F, [1, 5])], ["y"])
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    assert [n["op"] for n in read.graph.nodes] == ["input", "activation"]


# ----- comparisons, masks, reductions -------------------------------------------------------------------------
def test_comparisons_and_logic_play_like_onnxruntime(tmp_path):
    nodes = [node("Equal", ["k", "one"], ["eq"]), node("Less", ["x", "z"], ["lt"]),
             node("Greater", ["x", "half"], ["gt"]), node("Not", ["lt"], ["nlt"]),
             node("And", ["nlt", "gt"], ["both"]), node("Or", ["eq", "both"], ["either"]),
             node("Cast", ["either"], ["y"], to=F), node("Cast", ["x"], ["xi"], to=I64)]
    proto = model(nodes, [("x", F, [1, 6]), ("z", F, [1, 6]), ("k", I64, [1, 6])], ["y", ("xi", I64)],
                  {"one": np.array(1, dtype=np.int64), "half": np.float32(0.5)})
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_masked_logits_as_torchscript_writes_them(tmp_path):
    """`x[avail == 0] = -1e10`: Equal -> Cast -> Where."""
    nodes = [node("Equal", ["avail", "zero"], ["eq"]), node("Cast", ["eq"], ["mask"], to=BOOL),
             node("Where", ["mask", "big", "logits"], ["y"])]
    proto = model(nodes, [("logits", F, [1, 19]), ("avail", F, [1, 19])], ["y"],
                  {"zero": np.float32(0), "big": np.float32(-1e10)})
    avail = np.array([[1, 0] * 9 + [1]], dtype=np.float32)
    feeds = {"logits": np.random.default_rng(8).standard_normal((1, 19)).astype(np.float32), "avail": avail}
    assert_plays_like_onnxruntime(tmp_path, proto, feeds=feeds)


def dynamo_mask(fill, avail):
    """The same mask as torch 2.9's dynamo exporter writes it: NonZero + ScatterND, the updates expanded to the
    count of masked entries, a shape only main.py knows."""
    nodes = [node("Equal", ["avail", "zero"], ["eq"]), node("NonZero", ["eq"], ["nz"]),
             node("Transpose", ["nz"], ["idx"], perm=[1, 0]), node("Shape", ["idx"], ["s"]),
             node("Slice", ["s", "start", "end"], ["count"]), node("Expand", ["big", "count"], ["updates"]),
             node("ScatterND", ["logits", "idx", "updates"], ["y"])]
    inits = {"zero": np.float32(0), "big": np.array(fill, dtype=np.float32),
             "start": np.array([0], dtype=np.int64), "end": np.array([1], dtype=np.int64)}
    proto = model(nodes, [("logits", F, [1, 19]), ("avail", F, [1, 19])], ["y"], inits)
    feeds = {"logits": np.random.default_rng(9).standard_normal((1, 19)).astype(np.float32),
             "avail": np.array([avail], dtype=np.float32)}
    return proto, feeds


def dynamo_mask_by_rows(avail):
    """The same, the indices made row by row (Split, Squeeze, Unsqueeze, Concat), the count read with Gather, and
    static shape ops after the ScatterND (whose shape is the data's again)."""
    nodes = [node("Equal", ["avail", "zero"], ["eq"]), node("NonZero", ["eq"], ["nz"]),
             node("Split", ["nz", "ones"], ["r0", "r1"], axis=0), node("Squeeze", ["r0", "ax0"], ["q0"]),
             node("Squeeze", ["r1", "ax0"], ["q1"]), node("Unsqueeze", ["q0", "last"], ["u0"]),
             node("Unsqueeze", ["q1", "last"], ["u1"]), node("Concat", ["u0", "u1"], ["idx"], axis=-1),
             node("Shape", ["idx"], ["s"]), node("Gather", ["s", "zero_i"], ["n"], axis=0),
             node("Unsqueeze", ["n", "ax0"], ["count"]), node("Expand", ["big", "count"], ["updates"]),
             node("ScatterND", ["logits", "idx", "updates"], ["masked"]), node("Flatten", ["masked"], ["flat"]),
             node("Reshape", ["flat", "shape"], ["back"]), node("Softmax", ["back"], ["y"], axis=-1)]
    inits = {"zero": np.float32(0), "big": np.array(-1e10, dtype=np.float32), "ones": np.array([1, 1], np.int64),
             "ax0": np.array([0], np.int64), "last": np.array([-1], np.int64), "zero_i": np.array(0, np.int64),
             "shape": np.array([0, 19], np.int64)}
    proto = model(nodes, [("logits", F, [1, 19]), ("avail", F, [1, 19])], ["y"], inits)
    feeds = {"logits": np.random.default_rng(9).standard_normal((1, 19)).astype(np.float32),
             "avail": np.array([avail], dtype=np.float32)}
    return proto, feeds


@pytest.mark.parametrize("avail", [[1, 0] * 9 + [1], [1] * 19, [0] * 19])
@pytest.mark.parametrize("fill", [-1e10, -3.0])  # -3: a scatter that added instead of set would show
def test_masked_logits_as_dynamo_writes_them(tmp_path, avail, fill):
    assert_plays_like_onnxruntime(tmp_path, *dynamo_mask(fill, avail))


@pytest.mark.parametrize("avail", [[1, 0] * 9 + [1], [0] * 19])
def test_masked_logits_with_indices_made_row_by_row(tmp_path, avail):
    assert_plays_like_onnxruntime(tmp_path, *dynamo_mask_by_rows(avail))


def test_a_static_shape_read_after_a_nonzero_is_refused(tmp_path):
    """Flatten needs the count of a NonZero, which only main.py knows: refused, not guessed from the probe."""
    proto = model([node("NonZero", ["x"], ["nz"], name="where_set"), node("Flatten", ["nz"], ["f"], name="flat",
                                                                          axis=0),
                   node("Cast", ["f"], ["y"], to=F)], [("x", F, [1, 5])], ["y"])
    assert "node 'flat' (op Flatten): it needs the shape of 'nz'" in refused(tmp_path, proto)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMax", "ReduceMean"])
@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("axes, keepdims", [([1], 1), ([-1, 1], 0), (None, 1)])
def test_reductions_play_like_onnxruntime(tmp_path, op, opset, axes, keepdims):
    as_input = op == "ReduceSum" or opset >= 18
    attributes = {"keepdims": keepdims}
    inits = {}
    if axes is not None and as_input:
        inits["axes"] = np.array(axes, dtype=np.int64)
    elif axes is not None:
        attributes["axes"] = axes
    proto = model([node(op, ["x"] + list(inits), ["y"], **attributes)], [("x", F, [1, 3, 4])], ["y"], inits, opset)
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("axis, keepdims, last", [(-1, 0, 0), (1, 1, 0), (-1, 1, 1)])
def test_argmax_plays_like_onnxruntime(tmp_path, axis, keepdims, last):
    proto = model([node("ArgMax", ["x"], ["y"], axis=axis, keepdims=keepdims, select_last_index=last)],
                  [("x", F, [1, 3, 5])], [("y", I64)])
    feeds = {"x": np.round(np.random.default_rng(10).standard_normal((1, 3, 5))).astype(np.float32)}  # ties
    assert_plays_like_onnxruntime(tmp_path, proto, feeds=feeds)


# ----- recurrent layers ---------------------------------------------------------------------------------------
def recurrent_model(op, direction, steps, initial, layout=0, linear_before_reset=0, hidden=5, features=3):
    """x (1, steps, features) -> (layout 0: transposed to sequence first) -> LSTM / GRU -> Y, Y_h (, Y_c)."""
    rng = np.random.default_rng(11)
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1
    inits = {"W": rng.standard_normal((dirs, gates * hidden, features)).astype(np.float32) * 0.5,
             "R": rng.standard_normal((dirs, gates * hidden, hidden)).astype(np.float32) * 0.5,
             "B": rng.standard_normal((dirs, 2 * gates * hidden)).astype(np.float32) * 0.5}
    inputs = [("x", F, [1, steps, features])]
    nodes = [] if layout else [node("Transpose", ["x"], ["seq"], perm=[1, 0, 2])]
    names = ["x" if layout else "seq", "W", "R", "B", "", "", ""]
    if initial:
        inputs.append(("h", F, [1, dirs, hidden]))  # batch first, as a model input must be
        names[5] = "h" if layout else "h0"
        if not layout:
            nodes.append(node("Transpose", ["h"], ["h0"], perm=[1, 0, 2]))
        if op == "LSTM":
            inits["c0"] = rng.standard_normal((1, dirs, hidden) if layout else (dirs, 1, hidden)).astype(np.float32)
            names[6] = "c0"
    attributes = {"hidden_size": hidden, "direction": direction, "layout": layout}
    if op == "GRU":
        attributes["linear_before_reset"] = linear_before_reset
    outputs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    nodes.append(node(op, [n for n in names[:7]] if op == "LSTM" else names[:6], outputs, **attributes))
    return model(nodes, inputs, outputs, inits)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("steps", [1, 6])
@pytest.mark.parametrize("initial", [False, True])
def test_lstm_plays_like_onnxruntime(tmp_path, direction, steps, initial):
    assert_plays_like_onnxruntime(tmp_path, recurrent_model("LSTM", direction, steps, initial))


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("steps", [1, 6])
@pytest.mark.parametrize("initial", [False, True])
@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_gru_plays_like_onnxruntime(tmp_path, direction, steps, initial, linear_before_reset):
    proto = recurrent_model("GRU", direction, steps, initial, linear_before_reset=linear_before_reset)
    assert_plays_like_onnxruntime(tmp_path, proto)


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_batch_first_recurrent_layout_plays_like_the_reference(tmp_path, op):
    """layout=1 (batch first), which onnxruntime does not run and torch does not write: onnx's reference."""
    proto = recurrent_model(op, "bidirectional", 4, True, layout=1)
    assert_plays_like_onnxruntime(tmp_path, proto, oracle="reference")


def test_lstm_with_peepholes_plays_like_onnxruntime(tmp_path):
    proto = recurrent_model("LSTM", "forward", 3, False)
    proto.graph.initializer.append(tensor("P", np.random.default_rng(12).standard_normal((1, 15)).astype(
        np.float32)))
    lstm = proto.graph.node[-1]
    lstm.input.extend([""] * (7 - len(lstm.input)) + ["P"])
    assert_plays_like_onnxruntime(tmp_path, proto)


# ----- whole models, in the shapes the exporters write ---------------------------------------------------------
def weights_for(rng, **shapes):
    return {name: (rng.standard_normal(shape) * 0.3).astype(np.float32) for name, shape in shapes.items()}


def tizero_like():
    """Linear + ReLU + LayerNorm, an LSTM whose state is h‖c, 19 logits masked with Equal -> Cast -> Where."""
    inits = weights_for(np.random.default_rng(16), w1=(32, 30), b1=(32,), ln_s=(32,), ln_b=(32,), W=(1, 32, 32),
                        R=(1, 32, 8), B=(1, 64), w2=(19, 8), b2=(19,))
    inits.update({"zero": np.float32(0), "big": np.float32(-1e10), "ax0": np.array([0], dtype=np.int64),
                  "s0": np.array([0], dtype=np.int64), "s8": np.array([8], dtype=np.int64),
                  "s16": np.array([16], dtype=np.int64), "ax1": np.array([1], dtype=np.int64)})
    nodes = [node("Gemm", ["obs", "w1", "b1"], ["/enc/Gemm_output_0"], transB=1),
             node("Relu", ["/enc/Gemm_output_0"], ["/enc/Relu_output_0"]),
             node("LayerNormalization", ["/enc/Relu_output_0", "ln_s", "ln_b"], ["e"], axis=-1),
             node("Unsqueeze", ["e", "ax0"], ["seq"]),
             node("Slice", ["state", "s0", "s8", "ax1"], ["h"]), node("Slice", ["state", "s8", "s16", "ax1"], ["c"]),
             node("Unsqueeze", ["h", "ax0"], ["h0"]), node("Unsqueeze", ["c", "ax0"], ["c0"]),
             node("LSTM", ["seq", "W", "R", "B", "", "h0", "c0"], ["Y", "Y_h", "Y_c"], hidden_size=8),
             node("Squeeze", ["Y_h", "ax0"], ["hh"]), node("Squeeze", ["Y_c", "ax0"], ["cc"]),
             node("Concat", ["hh", "cc"], ["new_state"], axis=1),
             node("Gemm", ["hh", "w2", "b2"], ["logits"], transB=1),
             node("Equal", ["avail", "zero"], ["eq"]), node("Cast", ["eq"], ["mask"], to=BOOL),
             node("Where", ["mask", "big", "logits"], ["masked"])]
    proto = model(nodes, [("obs", F, ["batch", 30]), ("avail", F, ["batch", 19]), ("state", F, ["batch", 16])],
                  ["masked", "new_state"], inits)
    feeds = random_feeds(proto)
    feeds["avail"] = (np.arange(19) % 3 != 0).astype(np.float32)[None]
    return proto, feeds


def test_a_tizero_like_policy_as_torchscript_exports_it(tmp_path):
    read = assert_plays_like_onnxruntime(tmp_path, *tizero_like())
    assert {"dense", "layer_norm", "lstm"} <= {n["op"] for n in read.graph.nodes}


def handyrl_like():
    """Embeddings and attention (batched MatMul, Softmax), Conv1d k=1 + BatchNorm, a bidirectional GRU
    (linear_before_reset) over a history, GELU as Erf: opset 18."""
    rng = np.random.default_rng(17)
    inits = weights_for(rng, table=(20, 8), wq=(8, 8), wk=(8, 8), wv=(8, 8), cw=(6, 4, 1), cb=(6,), bn_s=(6,),
                        bn_b=(6,), bn_m=(6,), W=(2, 12, 3), R=(2, 12, 4), B=(2, 24), wo=(19, 22), bo=(19,))
    inits.update({"bn_v": np.linspace(0.5, 2, 6, dtype=np.float32), "scale": np.float32(np.sqrt(8)),
                  "ax1": np.array([1], dtype=np.int64), "ax2": np.array([2], dtype=np.int64),
                  "flat": np.array([0, -1], dtype=np.int64), "sqrt2": np.float32(np.sqrt(2)),
                  "one": np.float32(1), "half": np.float32(0.5)})
    nodes = [node("Gather", ["table", "ids"], ["emb"], axis=0), node("MatMul", ["emb", "wq"], ["q"]),
             node("MatMul", ["emb", "wk"], ["k"]), node("MatMul", ["emb", "wv"], ["v"]),
             node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]), node("MatMul", ["q", "kt"], ["s"]),
             node("Div", ["s", "scale"], ["s2"]), node("Softmax", ["s2"], ["a"], axis=-1),
             node("MatMul", ["a", "v"], ["o"]), node("ReduceMean", ["o", "ax1"], ["attn"], keepdims=0),
             node("Conv", ["feats", "cw", "cb"], ["conv"]),
             node("BatchNormalization", ["conv", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"]),
             node("Relu", ["bn"], ["r"]), node("Unsqueeze", ["r", "ax2"], ["r4"]),
             node("GlobalAveragePool", ["r4"], ["pooled"]), node("Flatten", ["pooled"], ["cvec"]),
             node("Transpose", ["history"], ["hist"], perm=[1, 0, 2]),
             node("GRU", ["hist", "W", "R", "B"], ["Y", "Y_h"], hidden_size=4, direction="bidirectional",
                  linear_before_reset=1),
             node("Transpose", ["Y_h"], ["hb"], perm=[1, 0, 2]), node("Reshape", ["hb", "flat"], ["gvec"]),
             node("Concat", ["attn", "cvec", "gvec"], ["z"], axis=1),
             node("Div", ["z", "sqrt2"], ["zd"]), node("Erf", ["zd"], ["ze"]), node("Add", ["ze", "one"], ["z1"]),
             node("Mul", ["z", "z1"], ["z2"]), node("Mul", ["z2", "half"], ["gelu"]),
             node("Gemm", ["gelu", "wo", "bo"], ["logits"], transB=1)]
    proto = model(nodes, [("ids", I64, ["s0", 6]), ("feats", F, ["s0", 4, 10]), ("history", F, ["s0", 5, 3])],
                  ["logits"], inits, opset=18)
    return proto, random_feeds(proto, integers={"ids": [[0, 19, 3, 3, 7, 12]]})


def test_a_handyrl_like_policy_as_dynamo_exports_it(tmp_path):
    read = assert_plays_like_onnxruntime(tmp_path, *handyrl_like())
    assert read.graph.nodes[0] == {"name": "ids", "op": "input", "shape": [6], "dtype": "int64"}


def tf2onnx_like():
    """NHWC SMM in, /255, Transpose to NCHW, Conv (SAME, stride 4) + Relu, MaxPool, Transpose back, Reshape
    [-1, n], MatMul + Add, Softmax: opset 15, tf2onnx's tensor names."""
    inits = weights_for(np.random.default_rng(18), cw=(8, 4, 8, 8), cb=(8,), dw=(9 * 12 * 8, 19), db=(19,))
    inits.update({"c255": np.float32(255), "shape": np.array([-1, 9 * 12 * 8], dtype=np.int64)})
    nodes = [node("Div", ["input_1:0", "c255"], ["scaled:0"]),
             node("Transpose", ["scaled:0"], ["nchw"], perm=[0, 3, 1, 2]),
             node("Conv", ["nchw", "cw", "cb"], ["conv"], strides=[4, 4], auto_pad="SAME_UPPER"),
             node("Relu", ["conv"], ["relu"]), node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
             node("Transpose", ["pool"], ["nhwc"], perm=[0, 2, 3, 1]), node("Reshape", ["nhwc", "shape"], ["flat"]),
             node("MatMul", ["flat", "dw"], ["mm"]), node("Add", ["mm", "db"], ["dense/BiasAdd:0"]),
             node("Softmax", ["dense/BiasAdd:0"], ["dense/Softmax:0"], axis=-1)]
    proto = model(nodes, [("input_1:0", F, ["unk__6", 72, 96, 4])], ["dense/Softmax:0"], inits, opset=15)
    smm = (np.random.default_rng(19).random((1, 72, 96, 4)) < 0.01).astype(np.float32) * 255
    return proto, {"input_1:0": smm}


def test_a_keras_cnn_as_tf2onnx_exports_it(tmp_path):
    read = assert_plays_like_onnxruntime(tmp_path, *tf2onnx_like())
    assert read.graph.inputs == ["input_1_0"] and read.input_names == ["input_1:0"]


def test_model_local_functions_are_inlined(tmp_path):
    """A function of the model's own domain (the dynamo exporter's, when not optimized) is read as its body."""
    body = [node("Div", ["x", "c"], ["a"]), node("Erf", ["a"], ["b"]), node("Add", ["b", "one"], ["d"]),
            node("Mul", ["x", "d"], ["e"]), node("Mul", ["e", "half"], ["y"])]
    constants = [node("Constant", [], [name], value=tensor(name, np.float32(value)))
                 for name, value in (("c", np.sqrt(2)), ("one", 1), ("half", 0.5))]
    function = helper.make_function("pkg.torch", "gelu", ["x"], ["y"], constants + body,
                                    [helper.make_opsetid("", 18)])
    proto = model([helper.make_node("gelu", ["x"], ["y"], domain="pkg.torch")], [("x", F, [1, 16])], ["y"], opset=18)
    proto.opset_import.append(helper.make_opsetid("pkg.torch", 1))
    proto.functions.append(function)
    assert_plays_like_onnxruntime(tmp_path, proto)


def test_a_float16_model_is_refused(tmp_path):
    assert "export the model in float32" in refused(tmp_path, one_op("Add", inits={"z": np.float16(1)}))


# ----- the builder's own check --------------------------------------------------------------------------------
def test_the_builder_check_accepts_an_onnx_graph_of_weighted_layers(tmp_path):
    rng = np.random.default_rng(15)
    nodes = [node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]), node("BatchNormalization", ["c", "s", "b", "m", "v"],
                                                                    ["n"]),
             node("Relu", ["n"], ["r"]), node("Flatten", ["r"], ["f"]), node("Gemm", ["f", "k", "kb"], ["y"], transB=1)]
    inits = {"w": rng.standard_normal((2, 3, 3, 3)), "s": np.ones(2), "b": np.zeros(2), "m": np.zeros(2),
             "v": np.ones(2), "k": rng.standard_normal((19, 2 * 4 * 4)), "kb": np.zeros(19)}
    proto = model(nodes, [("x", F, [1, 3, 4, 4])], ["y"], {k: v.astype(np.float32) for k, v in inits.items()})
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    shapes = check_graph(read.graph, read.named, tmp_path / "model.onnx")
    assert shapes[read.graph.output] == (1, 19)


def test_the_builder_check_accepts_an_onnx_graph_with_constants(tmp_path):
    proto = model([node("Add", ["x", "c"], ["y"])], [("x", F, [1, 4])], ["y"], {"c": np.ones(4, np.float32)})
    read = assert_plays_like_onnxruntime(tmp_path, proto)
    check_graph(read.graph, read.named, tmp_path / "model.onnx")


# ----- files --------------------------------------------------------------------------------------------------
def test_external_data_beside_the_model_is_read(tmp_path):
    """torch 2.9's default export: the weights in model.onnx.data beside model.onnx."""
    rng = np.random.default_rng(13)
    proto = model([node("Gemm", ["x", "w", "b"], ["h"], transB=1), node("Relu", ["h"], ["y"])],
                  [("x", F, [1, 64])], ["y"], {"w": rng.standard_normal((32, 64)).astype(np.float32),
                                                "b": rng.standard_normal(32).astype(np.float32)})
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)
    assert (tmp_path / "model.onnx.data").stat().st_size >= 32 * 64 * 4
    feeds = random_feeds(proto)
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    assert_close("y", expected[0], run_graph(read_onnx(path), feeds)[0])


def test_missing_external_data_is_named(tmp_path):
    proto = model([node("MatMul", ["x", "w"], ["y"])], [("x", F, [1, 64])], ["y"],
                  {"w": np.ones((64, 64), np.float32)})
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path), save_as_external_data=True, location="model.onnx.data", size_threshold=0)
    (tmp_path / "model.onnx.data").unlink()
    with pytest.raises(CorruptFileError, match="stored in 'model.onnx.data', which is missing"):
        read_onnx(path)


def test_external_data_outside_the_models_folder_is_refused(tmp_path):
    proto = model([node("MatMul", ["x", "w"], ["y"])], [("x", F, [1, 64])], ["y"],
                  {"w": np.ones((64, 64), np.float32)})
    (tmp_path / "inner").mkdir()
    onnx.save_model(proto, str(tmp_path / "model.onnx"), save_as_external_data=True, location="weights.data",
                    size_threshold=0)
    proto = onnx.load(str(tmp_path / "model.onnx"), load_external_data=False)
    for entry in proto.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../weights.data"
    onnx.save_model(proto, str(tmp_path / "inner" / "model.onnx"))
    with pytest.raises(CorruptFileError, match="outside the model's folder"):
        read_onnx(tmp_path / "inner" / "model.onnx")


# ----- refusals -----------------------------------------------------------------------------------------------
def refused(tmp_path, proto) -> str:
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path))
    with pytest.raises(OnnxOpRefusedError) as raised:
        read_onnx(path)
    return str(raised.value)


def test_random_uniform_is_refused_by_name(tmp_path):
    proto = model([node("RandomUniformLike", ["x"], ["noise"], name="explore"), node("Add", ["x", "noise"], ["y"])],
                  [("x", F, [1, 5])], ["y"])
    message = refused(tmp_path, proto)
    assert "node 'explore' (op RandomUniformLike)" in message and "export the logits, not a sample" in message


def test_multinomial_is_refused_by_name(tmp_path):
    proto = model([node("Multinomial", ["x"], ["y"], name="sample", sample_size=1)], [("x", F, [1, 19])],
                  [("y", TensorProto.INT32)])
    message = refused(tmp_path, proto)
    assert "node 'sample' (op Multinomial)" in message and "not a sample" in message


def test_loop_and_if_are_refused_by_name(tmp_path):
    body = helper.make_graph([node("Identity", ["cond_in"], ["cond_out"])], "body",
                             [helper.make_tensor_value_info("i", I64, []),
                              helper.make_tensor_value_info("cond_in", BOOL, [])],
                             [helper.make_tensor_value_info("cond_out", BOOL, [])])
    loop = model([node("Loop", ["n", "c"], [], name="steps", body=body), node("Relu", ["x"], ["y"])],
                 [("x", F, [1, 3])], ["y"], {"n": np.array(3, dtype=np.int64), "c": np.array(True)})
    assert "node 'steps' (op Loop)" in refused(tmp_path, loop)
    branch = helper.make_graph([node("Identity", ["x"], ["out"])], "b", [],
                               [helper.make_tensor_value_info("out", F, None)])
    branching = model([node("If", ["c"], ["y"], name="choose", then_branch=branch, else_branch=branch)],
                      [("x", F, [1, 3])], ["y"], {"c": np.array(True)})
    assert "node 'choose' (op If)" in refused(tmp_path, branching)


def test_an_unknown_op_is_refused_by_name(tmp_path):
    message = refused(tmp_path, model([node("CumSum", ["x", "axis"], ["y"], name="running")], [("x", F, [1, 4])],
                                      ["y"], {"axis": np.array(1, dtype=np.int64)}))
    assert "node 'running' (op CumSum)" in message and "an op gfsub does not reproduce" in message


def test_a_custom_domain_op_is_refused_by_name(tmp_path):
    proto = model([helper.make_node("Gelu", ["x"], ["y"], name="fast", domain="com.microsoft")],
                  [("x", F, [1, 4])], ["y"])
    proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    assert "node 'fast' (op Gelu)" in refused(tmp_path, proto)


def test_an_old_opset_is_refused(tmp_path):
    assert "opset 11" in refused(tmp_path, one_op("Relu", opset=11))


def test_a_dynamic_axis_besides_the_batch_is_refused(tmp_path):
    assert "dynamic axis" in refused(tmp_path, one_op("Relu", shape=("N", "T", 4)))


def test_an_output_without_a_batch_axis_first_is_refused(tmp_path):
    proto = model([node("Transpose", ["x"], ["y"], perm=[1, 0])], [("x", F, [1, 4])], ["y"])
    proto.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", F, [4, "batch"]))
    assert "output 'y' has no leading batch axis" in refused(tmp_path, proto)


def test_a_huge_initializer_is_refused_before_it_is_read(tmp_path):
    proto = one_op("Add", inits={"z": np.float32(1)})
    big = TensorProto(name="big", data_type=F, dims=[2 ** 15, 2 ** 14])
    proto.graph.initializer.append(big)
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path))
    with pytest.raises(ModelTooLargeError, match="'big' has 536870912 elements"):
        read_onnx(path)


def test_a_huge_expand_is_refused_before_it_is_allocated(tmp_path):
    proto = one_op("Expand", shape=(1, 1), inits={"arg": np.array([1, 2 ** 15, 2 ** 14], dtype=np.int64)})
    path = tmp_path / "model.onnx"
    onnx.save_model(proto, str(path))
    with pytest.raises(ModelTooLargeError, match="over gfsub's limit"):
        read_onnx(path)


# ----- Python 3.7 / numpy 1.18 --------------------------------------------------------------------------------
def many_ops():
    """One graph of the ops the whole-model graphs above do not use, for the Python 3.7 run."""
    nodes = [node("AveragePool", ["x"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
             node("MaxPool", ["x"], ["mp"], kernel_shape=[2, 2], dilations=[2, 2]),
             node("Flatten", ["ap"], ["apf"]), node("Flatten", ["mp"], ["mpf"]),
             node("Concat", ["apf", "mpf"], ["cat"], axis=1), node("HardSwish", ["cat"], ["hs"]),
             node("LogSoftmax", ["hs"], ["ls"], axis=-1), node("ArgMax", ["ls"], ["am"], axis=1, keepdims=1),
             node("GatherND", ["eye", "am"], ["onehot"]), node("Slice", ["ls", "st", "en", "axs", "stp"], ["sl"]),
             node("Split", ["sl", "sizes"], ["p1", "p2"], axis=1), node("Tile", ["p1", "reps"], ["t"]),
             node("Expand", ["p2", "eshape"], ["ex"]), node("Div", ["k", "three"], ["kd"]),
             node("Cast", ["kd"], ["kf"], to=F), node("Clip", ["kf", "lo", "hi"], ["kc"]),
             node("Selu", ["kc"], ["ks"]), node("HardSigmoid", ["ks"], ["kh"]),
             node("Softplus", ["kh"], ["kp"]), node("LeakyRelu", ["kp"], ["kl"], alpha=0.3),
             node("Elu", ["kl"], ["ke"]), node("ReduceSum", ["ke", "rax"], ["ks2"], keepdims=0)]
    inits = {"eye": np.eye(148, dtype=np.float32), "st": np.array([-1], dtype=np.int64),
             "en": np.array([-1000], dtype=np.int64), "axs": np.array([1], dtype=np.int64),
             "stp": np.array([-3], dtype=np.int64), "sizes": np.array([10, 40], dtype=np.int64),
             "reps": np.array([2, 1], dtype=np.int64), "eshape": np.array([3, 1], dtype=np.int64),
             "three": np.array(-3, dtype=np.int64), "lo": np.float32(-1), "hi": np.float32(2),
             "rax": np.array([1], dtype=np.int64)}
    proto = model(nodes, [("x", F, [1, 2, 9, 9]), ("k", I64, [1, 5])], ["onehot", "t", "ex", "ks2"], inits)
    return proto, random_feeds(proto, integers={"k": [[-7, 7, 8, -9, 0]]})


def test_the_many_ops_graph_plays_like_onnxruntime(tmp_path):
    assert_plays_like_onnxruntime(tmp_path, *many_ops())


@pytest.mark.skipif(not PY37.exists(), reason="the kaggle-2020 runtime is not installed")
def test_tensor_ops_run_the_same_in_python37_old_numpy(tmp_path):
    """agent_runtime's ops, exec'd in the 2020 interpreter on saved graphs and inputs, give this one's outputs."""
    cases = {"tizero": tizero_like(), "handyrl": handyrl_like(), "tf2onnx": tf2onnx_like(), "many": many_ops(),
             "dynamo_mask": dynamo_mask(-1e10, [1, 0] * 9 + [1]), "dynamo_rows": dynamo_mask_by_rows([0, 1] * 9 + [0]),
             "conv": (model([node("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 0, 1, 2], strides=[2, 1],
                                 dilations=[1, 2])], [("x", F, [1, 4, 9, 8])], ["y"],
                            {"w": np.linspace(-1, 1, 6 * 2 * 9).reshape(6, 2, 3, 3).astype(np.float32),
                             "b": np.arange(6, dtype=np.float32)}), None),
             "blocked_conv": (model([node("Conv", ["x", "w"], ["y"], strides=[4, 4])], [("x", F, [1, 16, 36, 46])],
                                    ["y"], {"w": np.linspace(-1, 1, 8 * 16 * 64).reshape(8, 16, 8, 8)
                                            .astype(np.float32)}), None),
             "lstm": (recurrent_model("LSTM", "bidirectional", 4, True), None),
             "gru": (recurrent_model("GRU", "reverse", 3, False, linear_before_reset=1), None)}
    for name, (proto, feeds) in cases.items():
        path = tmp_path / f"{name}.onnx"
        onnx.save_model(proto, str(path))
        read = read_onnx(path)
        feeds = feeds or random_feeds(proto)
        ordered = [feeds[n] for n in read.input_names]
        expected = run_graph(read, feeds)
        np.savez(tmp_path / f"{name}.npz", *ordered, *[array for _, array in read.named])
        (tmp_path / f"{name}.json").write_text(json.dumps({"graph": read.graph.as_data(), "outputs":
                                                           read.graph.outputs,
                                                           "weights": [n for n, _ in read.named],
                                                           "n_inputs": len(ordered)}))
        np.savez(tmp_path / f"{name}.expected.npz", *expected)
    root = Path(__file__).resolve().parents[1]
    script = f"""
import json, sys
import numpy as np
sys.path.insert(0, {str(root)!r})
from agent_runtime import graph as graph_module
for name in {list(cases)!r}:
    spec = json.load(open({str(tmp_path)!r} + "/" + name + ".json"))
    arrays = np.load({str(tmp_path)!r} + "/" + name + ".npz")
    arrays = [arrays["arr_%d" % k] for k in range(len(arrays.files))]
    inputs, weights = arrays[:spec["n_inputs"]], arrays[spec["n_inputs"]:]
    model = graph_module.GraphModel(spec["graph"], list(zip(spec["weights"], weights)))
    values = model.run(inputs)
    expected = np.load({str(tmp_path)!r} + "/" + name + ".expected.npz")
    for k, reference in enumerate(spec["outputs"]):
        ours = np.asarray(model.value(values, reference))
        want = expected["arr_%d" % k]
        assert ours.shape == want.shape and ours.dtype == want.dtype, (name, ours.shape, want.shape, ours.dtype)
        # float32 sums in another BLAS's order: within 1e-6 of the tensor's scale (an output near 0 from terms
        # near 17 may move by an ulp of 17, 1.9e-6)
        worst = np.abs(ours.astype(np.float64) - want).max() if want.size else 0.0
        assert worst <= 1e-6 * max(1.0, np.abs(want).max() if want.size else 0.0), (name, worst)
print("ok", np.__version__)
"""
    done = subprocess.run([str(PY37), "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok 1.1"), done.stdout  # numpy 1.1x: the ops ran in the old numpy
