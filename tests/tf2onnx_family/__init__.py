"""A Keras policy converted to ONNX by real tf2onnx (make.py): the ONNX front door's other exporter."""

from pathlib import Path

FILES = Path(__file__).parent / "files"  # what make.py wrote: NAME.onnx, made.json
NAME = "keras_smm_cnn_tf2onnx"
