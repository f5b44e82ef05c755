"""Step 1 of the pipeline: read trained weights from any of the six supported formats.

The format is detected from the content (zip, HDF5, zlib signatures, a SavedModel directory),
not from the extension. Formats that carry a model config yield the architecture and a
per-layer mapping; weights-only formats yield arrays in the source model's `get_weights()` order.
"""

import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.keras_calls import ConfigGraphError
from builder.keras_graph import graph_from_config
from builder.model_graph import Graph
from builder.pickles import NotWeightArrays, base64_zlib, looks_like_zlib, unpickle_arrays, zlib_stream
from builder.python_source import embedded_weight_lists, looks_like_python
from builder.savedmodel import read_keras_savedmodel
from common.errors import CorruptFileError, MissingFileError, UnknownFormatError, UnsupportedArchitectureError
from common.files import sha256_of

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
FORMATS = ("keras", "h5", "weights.h5", "savedmodel", "npz", "pickle", "python")
SUPPORTED_HINT = (
    "pass a Keras model (.keras, .h5), weights (.weights.h5, .npz of get_weights(), zlib-pickled "
    "get_weights()), a SavedModel directory, or an old main.py with its weights embedded"
)


# The weights as every later step takes them: ("layer/role", float32 array), e.g. ("fc1/kernel", ...), in the
# graph's order (validate.resolve_model makes it from SourceWeights).
NamedWeights = list[tuple[str, np.ndarray]]


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


@dataclass(frozen=True)
class SourceWeights(Contents):
    """A model or weights file as loaded: where it is, its format and hash, and its contents."""

    path: Path = Path()
    format: str = ""
    sha256: str = ""


def load_weights(path: "str | Path") -> SourceWeights:
    """Detect the format of `path` and read it."""
    path = Path(path)
    kind = detect_format(path)
    loader = {
        "keras": _load_keras,
        "h5": _load_h5_model,
        "weights.h5": _load_weights_h5,
        "savedmodel": _load_savedmodel,
        "npz": _load_npz,
        "pickle": _load_pickle,
        "python": _load_python,
    }[kind]
    contents = loader(path)
    return SourceWeights(**vars(contents), path=path, format=kind, sha256=sha256_of(path))


def detect_format(path: Path) -> str:
    """One of FORMATS, from the content; raises MissingFileError / UnknownFormatError / CorruptFileError."""
    if not path.exists():
        raise MissingFileError(path, "no such file or directory", "check the path to your trained weights")
    if path.is_dir():
        if (path / "saved_model.pb").exists():
            return "savedmodel"
        raise UnknownFormatError(path, "a directory without saved_model.pb", SUPPORTED_HINT)
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise CorruptFileError(path, "the file is empty", "export the weights again")
    if head.startswith(ZIP_SIGNATURE):
        return _zip_kind(path)
    if head.startswith(HDF5_SIGNATURE):
        return _hdf5_kind(path)
    if looks_like_zlib(head) or (path.stat().st_size < 2 << 30 and base64_zlib(path.read_bytes()) is not None):
        return "pickle"
    if looks_like_python(path, head):
        return "python"
    raise UnknownFormatError(path, "not a format gfsub reads", SUPPORTED_HINT)


# --- detection helpers -------------------------------------------------------------------------

def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(path, f"truncated or damaged zip archive ({exc})", "export the model again") from exc
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    raise UnknownFormatError(path, f"a zip archive that is neither .keras nor .npz (holds {names[:4]})",
                             SUPPORTED_HINT)


def _hdf5_kind(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return "h5" if "model_config" in handle.attrs else "weights.h5"
    except OSError as exc:
        raise CorruptFileError(path, f"truncated or damaged HDF5 file ({exc})", "export the model again") from exc


# --- loaders -----------------------------------------------------------------------------------

def _graph_or_raise(path: Path, model_config: dict, keras_version: str) -> tuple:
    """-> (the model's layer graph, the user's split-layer class names)."""
    try:
        graph = graph_from_config(model_config, keras_version)
    except (ConfigGraphError, KeyError, TypeError, ValueError) as exc:
        raise UnsupportedArchitectureError(
            path, f"{exc}", "gfsub builds only what it reproduces exactly, and will not build a main.py that plays "
            "differently from your model") from exc
    return graph, _split_class_names(model_config)


def _split_class_names(model_config: dict) -> tuple:
    """Every name the user's split layer is known by in the config (class name and Keras 3 registered name)."""
    names = []
    for layer in model_config.get("config", model_config).get("layers", []):
        for name in (layer.get("class_name", ""), layer.get("registered_name") or ""):
            if "split" in name.split(">")[-1].lower() and name not in names:
                names.append(name)
    return tuple(names)


def _load_keras(path: Path) -> Contents:
    """Keras 3 .keras zip: config.json + model.weights.h5 (groups named by class counter: conv2d_3)."""
    import h5py

    try:
        with zipfile.ZipFile(path) as archive:
            model_config = json.loads(archive.read("config.json"))
            weights_bytes = archive.read("model.weights.h5")
            metadata = json.loads(archive.read("metadata.json")) if "metadata.json" in archive.namelist() else {}
        version = str(metadata.get("keras_version", "3"))
        graph, split_classes = _graph_or_raise(path, model_config, version)
        keys = keras3_layer_keys(model_config.get("config", model_config)["layers"])
        with h5py.File(io.BytesIO(weights_bytes), "r") as handle:
            layers = {name: _keras3_vars(handle["layers"][key]) for name, key in keys.items()
                      if key in handle["layers"]}
    except (zipfile.BadZipFile, OSError, KeyError, json.JSONDecodeError, zlib.error) as exc:
        raise CorruptFileError(path, f"cannot read the .keras archive ({exc})", "save the model again") from exc
    return Contents(graph=graph, layers=layers, writer=f"Keras {version}", keras_version=version,
                    split_classes=split_classes)


def keras3_layer_keys(config_layers: list) -> dict:
    """Layer name -> its group in a Keras 3 weights file: snake_case class name + a per-class counter, over the
    model's layers in order (operations of functional code are no layers: they hold no weights)."""
    counts: dict = {}
    keys = {}
    for layer in config_layers:
        if str(layer.get("module", "")).startswith(("keras.src.ops", "keras.ops")):
            continue
        base = _snake_case(layer["class_name"].split(">")[-1])
        index = counts.get(base, 0)
        counts[base] = index + 1
        keys[layer.get("name") or layer["config"]["name"]] = base if index == 0 else f"{base}_{index}"
    return keys


def _snake_case(name: str) -> str:
    out = []
    for i, char in enumerate(name):
        if char.isupper() and i > 0 and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _counter_keys(groups, base: str) -> list:
    """Keras 3 group names of one layer class in model order: conv2d, conv2d_1, conv2d_2, ..."""
    index = {key: 0 if key == base else int(key[len(base) + 1:]) for key in groups
             if key == base or (key.startswith(base + "_") and key[len(base) + 1:].isdigit())}
    return sorted(index, key=index.get)


def _keras3_vars(group) -> list:
    if "vars" not in group:
        return []
    variables = group["vars"]
    return [np.asarray(variables[key]) for key in sorted(variables, key=int)]


def _load_h5_model(path: Path) -> Contents:
    """Full-model HDF5 (Keras 2 era, or Keras 3 legacy): attrs['model_config'] + model_weights/<layer>."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw_config = handle.attrs["model_config"]
            model_config = json.loads(raw_config.decode() if isinstance(raw_config, bytes) else raw_config)
            version = handle.attrs.get("keras_version", b"")
            version = version.decode() if isinstance(version, bytes) else str(version)
            graph, split_classes = _graph_or_raise(path, model_config, version)
            group = handle["model_weights"] if "model_weights" in handle else handle
            layers = {name: _legacy_layer_arrays(group, name) for name in graph.weighted()}
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise CorruptFileError(path, f"cannot read the HDF5 model ({exc})", "save the model again") from exc
    return Contents(graph=graph, layers=layers, writer=f"Keras {version}".strip(), keras_version=version,
                    split_classes=split_classes)


def _legacy_layer_arrays(group, layer_name: str) -> list:
    """Arrays of one layer in a legacy HDF5 file, in its `weight_names` order."""
    if layer_name not in group:
        return []
    layer = group[layer_name]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in layer.attrs.get("weight_names", [])]
    return [np.asarray(layer[name]) for name in names]


def _load_weights_h5(path: Path) -> Contents:
    """Weights-only HDF5: Keras 3 `.weights.h5` (layers/<class counter>/vars) or Keras 2 save_weights."""
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            if "layers" in handle:
                groups = {key: _keras3_vars(handle["layers"][key]) for key in handle["layers"]}
                return Contents(groups=groups, ordered=[array for base in ("conv2d", "dense")
                                                        for key in _counter_keys(groups, base)
                                                        for array in groups[key]])
            elif "layer_names" in handle.attrs:
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in handle.attrs["layer_names"]]
                return _from_layer_list([(name, _legacy_layer_arrays(handle, name)) for name in names])
            raise KeyError("no 'layers' group and no 'layer_names' attribute")
    except (OSError, KeyError) as exc:
        raise CorruptFileError(path, f"not a Keras weights file ({exc})",
                               "save it with model.save_weights('model.weights.h5')") from exc


def _from_layer_list(layers: list) -> Contents:
    """Arrays by layer name, and also in get_weights() order."""
    layers = [(name, arrays) for name, arrays in layers if arrays]
    return Contents(layers=dict(layers), ordered=[array for _, arrays in layers for array in arrays])


def _load_savedmodel(path: Path) -> Contents:
    """TensorFlow SavedModel directory: Keras 2 `model.save(dir)` (architecture and weights read from the files,
    TensorFlow 2.3 - 2.15), else Keras 3 `model.export()` (weights only)."""
    try:
        keras2 = read_keras_savedmodel(path)
    except Exception as exc:  # a damaged proto or checkpoint raises many unrelated types
        raise CorruptFileError(path, f"cannot read the SavedModel ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})",
                               "save it again, or save the weights with model.save_weights") from exc
    if keras2 is not None:
        graph, split_classes = _graph_or_raise(path, keras2.model_config, keras2.keras_version)
        try:
            layers = keras2.layer_arrays(list(graph.weighted()))
        except Exception as exc:  # noqa: BLE001 - the checkpoint under variables/ is missing or damaged
            raise CorruptFileError(path, f"cannot read the SavedModel's variables ({type(exc).__name__})",
                                   "copy the whole SavedModel directory, variables/ included") from exc
        return Contents(graph=graph, layers=layers, writer=f"TensorFlow {keras2.tensorflow_version}",
                        keras_version=keras2.keras_version, split_classes=split_classes)
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        variables = list(getattr(loaded, "variables", []))
    except Exception as exc:  # TensorFlow raises many unrelated types for a damaged directory
        raise CorruptFileError(path, f"cannot load the SavedModel ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})",
                               "export it again with model.export(dir)") from exc
    if not variables:
        raise CorruptFileError(path, "the SavedModel has no variables", "export it with model.export(dir)")
    layers: list = []
    for variable in variables:
        layer = variable.name.split("/")[0]
        if not layers or layers[-1][0] != layer:
            layers.append((layer, []))
        layers[-1][1].append(variable.numpy())
    return _from_layer_list(layers)


def _load_npz(path: Path) -> Contents:
    """np.savez(path, *model.get_weights()): arr_0, arr_1, ... in get_weights() order."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if all(k.startswith("arr_") and k[4:].isdigit() for k in keys):
                keys.sort(key=lambda k: int(k[4:]))
            return Contents(ordered=[archive[k] for k in keys])
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise CorruptFileError(path, f"cannot read the .npz ({exc})",
                               "save it with np.savez(path, *model.get_weights())") from exc


def _load_pickle(path: Path) -> Contents:
    """zlib.compress(pickle.dumps(model.get_weights())), raw or base64 text."""
    raw = path.read_bytes()
    try:
        return Contents(ordered=unpickle_arrays(zlib_stream(raw) or raw))
    except zlib.error as exc:
        raise CorruptFileError(path, f"truncated or damaged zlib data ({exc})",
                               "write it again with zlib.compress(pickle.dumps(model.get_weights()))") from exc
    except NotWeightArrays as exc:
        raise CorruptFileError(path, str(exc), "save the weights with np.savez(path, *model.get_weights()) "
                               "instead") from exc


def _load_python(path: Path) -> Contents:
    """An old main.py: the largest zlib-pickled get_weights() list in its literals (parsed, never executed)."""
    try:
        found, refusal = embedded_weight_lists(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(path, f"not a Python file gfsub can parse ({exc})",
                               "pass the main.py that holds the weights, or the weights themselves") from exc
    if not found:
        if refusal:
            raise CorruptFileError(path, f"its embedded pickle is not a plain list of arrays ({refusal})",
                                   "save the weights with np.savez(path, *model.get_weights()) instead")
        raise UnknownFormatError(path, "a Python file with no embedded weights (gfsub looks for a zlib "
                                 "pickle of get_weights() as a bytes or base64 literal)", SUPPORTED_HINT)
    return Contents(ordered=found[0])
