"""The ONNX front door: an .onnx file (torch.onnx.export, either exporter; tf2onnx) -> gfsub's layer graph.

`read_onnx(path)` returns the same Graph and named weights as the Keras front door; the numpy ops it names are
agent_runtime's, shared by every front door (layers.py, and tensor_ops.py for what only ONNX writes).
"""

from builder.onnx.reader import OnnxModel, read_onnx
from common.errors import ModelTooLargeError, OnnxOpRefusedError

__all__ = ["ModelTooLargeError", "OnnxModel", "OnnxOpRefusedError", "read_onnx"]
