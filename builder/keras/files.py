"""The Keras file formats -> Contents: a .keras zip, a full-model or weights-only HDF5, a SavedModel directory.

A file that carries a config yields its layer graph (graph.py) and each layer's arrays by name; a weights-only file
yields its arrays by layer or group name and in get_weights() order. Keras 2 SavedModels are read from their files
(savedmodel.py); only a Keras 3 `model.export()` directory is loaded, by TensorFlow, for its variables. h5py and
TensorFlow are imported inside the loaders, not by importing this module.
"""

import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from builder.contents import Contents, from_layer_list
from builder.keras.calls import ConfigGraphError
from builder.keras.graph import graph_from_config
from builder.keras.savedmodel import read_keras_savedmodel
from common.errors import CorruptFileError, UnsupportedArchitectureError


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


def load_keras(path: Path) -> Contents:
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


NESTED_LAYERS = ("cell", "forward_layer", "backward_layer")  # a recurrent layer's cell; a Bidirectional's layers


def _keras3_vars(group) -> list:
    """A layer's arrays in its own order: its variables, then those of the layers it holds (in Keras' order, which
    is not the file's alphabetical one)."""
    variables = group["vars"] if "vars" in group else {}
    arrays = [np.asarray(variables[key]) for key in sorted(variables, key=int)]
    for name in NESTED_LAYERS:
        if name in group:
            arrays += _keras3_vars(group[name])
    return arrays


def load_h5_model(path: Path) -> Contents:
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


def load_weights_h5(path: Path) -> Contents:
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
                return from_layer_list([(name, _legacy_layer_arrays(handle, name)) for name in names])
            raise KeyError("no 'layers' group and no 'layer_names' attribute")
    except (OSError, KeyError) as exc:
        raise CorruptFileError(path, f"not a Keras weights file ({exc})",
                               "save it with model.save_weights('model.weights.h5')") from exc


def load_savedmodel(path: Path) -> Contents:
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
    return from_layer_list(layers)
