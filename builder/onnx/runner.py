"""The ONNX model run by onnxruntime: the verification's reference for an .onnx file (one observation per call)."""

from pathlib import Path

import numpy as np

from common.errors import MissingPackageError, SourceModelError


class OnnxRuntimeModel:
    """inputs (in the model's input order, batch axis first) -> {output name: array}, by onnxruntime on the CPU,
    one thread; `intermediates` adds those tensors as outputs (to find the node where numpy and onnxruntime part)."""

    def __init__(self, path: Path, intermediates: tuple = ()) -> None:
        try:
            import onnx
            import onnxruntime
        except ImportError:
            raise MissingPackageError(path, "the verification of an ONNX model runs it with onnxruntime, which is "
                                      "not installed", "pip install 'gfsub[onnx]'") from None
        self.path = Path(path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3
        model = onnx.load(str(path))
        if intermediates:
            model = onnx.shape_inference.infer_shapes(model)
            typed = {info.name: info for info in model.graph.value_info}
            known = {info.name for info in model.graph.output}
            model.graph.output.extend(typed[name] for name in intermediates if name in typed and name not in known)
        try:
            self.session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                        providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types vary by version
            raise SourceModelError(path, f"onnxruntime cannot load the model ({str(exc).splitlines()[0][:200]})",
                                   "check the export with onnx.checker.check_model; if it passes, report this as a "
                                   "gfsub bug") from None
        self.inputs = [item.name for item in self.session.get_inputs()]
        self.outputs = [item.name for item in self.session.get_outputs()]
        kinds = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
                 "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
        self.dtypes = [kinds.get(item.type, np.float32) for item in self.session.get_inputs()]

    def __call__(self, inputs: list) -> dict:
        feed = {name: np.asarray(value, dtype=dtype) for name, value, dtype in zip(self.inputs, inputs, self.dtypes,
                                                                                    strict=True)}
        try:
            values = self.session.run(None, feed)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types vary by version
            raise SourceModelError(self.path, f"onnxruntime cannot run the model on a verify observation "
                                   f"({str(exc).splitlines()[0][:200]})", "check that the encoder gives what the "
                                   "model was exported for (shapes, dtypes)") from None
        return dict(zip(self.outputs, values, strict=True))



def parting_node(path: Path, source_tensors: list, numpy_graph, feed: list, tolerance: float) -> str:
    """The first ONNX node, in the file's order, whose value gfsub's numpy graph (GraphModel) and onnxruntime part
    on beyond the tolerance, on one step's inputs: "node 'name' (op Op)", or "" when none is found."""
    theirs = OnnxRuntimeModel(path, tuple(tensor for tensor, _, _ in source_tensors))(feed)
    ours = numpy_graph.run([np.asarray(x, dtype=dtype) for x, dtype in zip(feed, numpy_graph.input_dtypes,
                                                                          strict=True)])
    for tensor, reference, label in source_tensors:
        if tensor not in theirs:
            continue
        want, got = np.asarray(theirs[tensor]), np.asarray(numpy_graph.value(ours, reference))
        if want.shape != got.shape:
            return label
        if want.dtype.kind == "f":
            gap = np.abs(got.astype(np.float64) - want)
            if not np.all(gap <= tolerance * np.maximum(1.0, np.abs(want))):
                return label
        elif not np.array_equal(want, got):
            return label
    return ""

