"""What a front door's loader read from a model or weights file (Contents), shared by load.py and the front doors.

load.py detects the format and calls the loader of its front door (builder/keras/files.py, builder/legacy/); each
returns Contents, and load.py adds the file's path, format and hash (load.SourceWeights). Kept apart from load.py so
that the front doors import it without importing the dispatcher that imports them.
"""

from dataclasses import dataclass

from builder.model_graph import Graph

SUPPORTED_HINT = (
    "pass a Keras model (.keras, .h5), an ONNX model (.onnx), a torch.export .pt2, weights (.weights.h5, .npz of "
    "get_weights(), zlib-pickled get_weights()), a SavedModel directory, or an old main.py with its weights embedded"
)


@dataclass(frozen=True)
class Contents:
    """What a format's loader read from the file."""

    graph: Graph | None = None  # a model file's own layer graph
    layers: dict | None = None  # layer name -> its arrays: a list in the layer's own order, or a dict by role
    groups: dict | None = None  # a Keras 3 weights file's groups (`dense_1` -> arrays), named by class counters
    ordered: list | None = None  # arrays in the source model's get_weights() order
    writer: str = ""  # e.g. "TensorFlow 2.3.1" / "Keras 2.4.0", when the file records what wrote it
    keras_version: str = ""  # of the Keras that wrote the file, when it says
    split_classes: tuple = ()  # the user's split-layer class names in the saved config (to run the model itself)
    named: list | None = None  # ("node/role", array) bound to `graph` by the front door itself (ONNX)


def from_layer_list(layers: list) -> Contents:
    """Arrays by layer name, and also in get_weights() order."""
    layers = [(name, arrays) for name, arrays in layers if arrays]
    return Contents(layers=dict(layers), ordered=[array for _, arrays in layers for array in arrays])
