"""The Keras file formats -> Contents: a .keras zip, a full-model or weights-only HDF5, a SavedModel directory.

A file that carries a config yields its layer graph (graph.py) and each layer's arrays by name; a weights-only file
yields its arrays by layer or group name and in get_weights() order. Keras 2 SavedModels are read from their files
(savedmodel.py); only a Keras 3 `model.export()` directory is loaded, by TensorFlow in the sandboxed source
worker, for its variables. h5py and TensorFlow's checkpoint reader are imported inside the loaders. Every dataset is
checked before it is read (a number dtype, at most 2^28 values, data the file stores, the model's total:
builder/limits.py), and whatever h5py or zipfile raise for a damaged file is one line.
"""

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from builder.contents import Contents, from_layer_list
from builder.keras.calls import ConfigGraphError
from builder.keras.graph import graph_from_config
from builder.keras.savedmodel import read_keras_savedmodel
from builder.limits import (
    H5_ERRORS,
    MAX_RATIO,
    RATIO_FLOOR,
    ZIP_ERRORS,
    Budget,
    check_elements,
    check_tensor,
    check_zip,
    elements,
    loads,
    one_line,
)
from common.errors import CorruptFileError, UnsupportedArchitectureError
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, last_error, require_sandbox, run_once
from runtimes.registry import current_runtime

LOAD_SECONDS = 300  # TensorFlow's import and a Keras 3 export's load, in the source worker
MAX_NESTING = 8  # layers inside layers (a Bidirectional's, a recurrent layer's cell): Keras nests 2 deep


# What reading a damaged config raises besides ConfigGraphError: a key missing, a value of the wrong type or length.
CONFIG_ERRORS = (ConfigGraphError, KeyError, TypeError, ValueError, IndexError, AttributeError)


def graph_or_raise(path: Path, model_config: dict, keras_version: str):
    """The model's layer graph from its Keras config, or one line naming the file."""
    try:
        return graph_from_config(model_config, keras_version)
    except CONFIG_ERRORS as exc:
        problem = str(exc) if isinstance(exc, ConfigGraphError) else \
            f"its config cannot be read as a Keras model ({one_line(exc)})"
        raise UnsupportedArchitectureError(
            path, problem, "gfsub builds only what it reproduces exactly, and will not build a main.py that plays "
            "differently from your model") from exc


def _graph_or_raise(path: Path, model_config: dict, keras_version: str) -> tuple:
    """-> (the model's layer graph, the user's split-layer class names)."""
    return graph_or_raise(path, model_config, keras_version), _split_class_names(model_config)


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

    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(path, archive)
            model_config = _json_member(path, archive, "config.json")
            weights_bytes = archive.read("model.weights.h5")
            metadata = _json_member(path, archive, "metadata.json") if "metadata.json" in archive.namelist() else {}
    except ZIP_ERRORS as exc:
        raise CorruptFileError(path, f"cannot read the .keras archive ({exc})", "save the model again") from exc
    version = _text(metadata.get("keras_version", "3"))
    graph, split_classes = _graph_or_raise(path, model_config, version)
    keys = keras3_layer_keys(model_config.get("config", model_config)["layers"])
    reader = H5Arrays(path)
    try:
        with reader.open(io.BytesIO(weights_bytes)) as handle:
            layers = {name: reader.keras3_vars(handle["layers"][key]) for name, key in keys.items()
                      if key in reader.group(handle, "layers")}
    except H5_ERRORS as exc:
        raise CorruptFileError(path, f"cannot read the .keras archive's weights ({exc})", "save the model again") \
            from exc
    return Contents(graph=graph, layers=layers, writer=f"Keras {version}", keras_version=version,
                    split_classes=split_classes)


def _json_member(path: Path, archive, name: str) -> dict:
    """A JSON object member of a zip, its nesting bounded."""
    try:
        document = loads(path, archive.read(name), f"member {name}", fix="save the model again")
    except ValueError as exc:  # not JSON, or not UTF-8
        raise CorruptFileError(path, f"member {name} is not JSON ({exc})", "save the model again") from exc
    if not isinstance(document, dict):
        raise CorruptFileError(path, f"member {name} is not a JSON object", "save the model again")
    return document


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


class H5Arrays:
    """The datasets of one HDF5 file as arrays, each checked before it is read: a number dtype, at most 2^28
    values, data the file stores (not a shape declared over chunks it never wrote), the model's total."""

    def __init__(self, path: Path) -> None:
        self.path, self.budget, self.filename = path, Budget(path), None

    def open(self, source):
        """h5py.File(source), whose datasets alone this reader reads (not those of files it links to)."""
        import h5py

        handle = h5py.File(source, "r")
        self.filename = handle.filename
        return handle

    def fail(self, problem: str):
        raise CorruptFileError(self.path, problem, "save the model again")

    def array(self, item) -> np.ndarray:
        import h5py

        if not isinstance(item, h5py.Dataset):
            self.fail(f"'{item.name}' is a group, not an array")
        if item.file.filename != self.filename or item.external or item.is_virtual:
            self.fail(f"dataset '{item.name}' keeps its data in another file, which gfsub does not read")
        if item.shape is None:
            self.fail(f"dataset '{item.name}' holds no array (an empty dataspace)")
        check_tensor(self.path, item.name, item.shape, item.dtype)
        nbytes, stored = item.size * item.dtype.itemsize, item.id.get_storage_size()
        if nbytes > RATIO_FLOOR and nbytes > MAX_RATIO * max(stored, 1):
            self.fail(f"dataset '{item.name}' declares {nbytes:,} bytes (shape {item.shape}) but the file stores "
                      f"{stored:,} of them")
        self.budget.take(item.name, nbytes)
        return np.asarray(item[()])

    def group(self, owner, key: str):
        import h5py

        item = owner[key]
        if not isinstance(item, h5py.Group):
            self.fail(f"'{item.name}' is an array, not a group")
        return item

    def names(self, owner, key: str) -> list:
        """A list-of-names attribute (weight_names, layer_names)."""
        value = owner.attrs.get(key, [])
        if isinstance(value, (bytes, str)) or np.ndim(value) != 1:
            self.fail(f"attribute {key} of '{owner.name}' is not a list of names")
        if not all(isinstance(name, (bytes, str)) for name in value):
            self.fail(f"attribute {key} of '{owner.name}' holds something other than names")
        return [name.decode() if isinstance(name, bytes) else name for name in value]

    def keras3_vars(self, group, depth: int = 0) -> list:
        """A layer's arrays in its own order: its variables, then those of the layers it holds (in Keras' order,
        which is not the file's alphabetical one)."""
        import h5py

        if not isinstance(group, h5py.Group):
            self.fail(f"'{group.name}' is an array, not a layer's group")
        if depth > MAX_NESTING:
            self.fail(f"'{group.name}' nests layers more than {MAX_NESTING} deep (a group linked into itself?)")
        variables = self.group(group, "vars") if "vars" in group else {}
        odd = next((key for key in variables if not key.isdigit()), None)
        if odd is not None:
            self.fail(f"'{variables.name}' holds '{odd}', not numbered variables")
        arrays = [self.array(variables[key]) for key in sorted(variables, key=int)]
        for name in NESTED_LAYERS:
            if name in group:
                arrays += self.keras3_vars(group[name], depth + 1)
        return arrays

    def legacy_layer(self, group, layer_name: str) -> list:
        """Arrays of one layer in a legacy HDF5 file, in its `weight_names` order."""
        if layer_name not in group:
            return []
        layer = self.group(group, layer_name)
        return [self.array(layer[name]) for name in self.names(layer, "weight_names")]


def load_h5_model(path: Path) -> Contents:
    """Full-model HDF5 (Keras 2 era, or Keras 3 legacy): attrs['model_config'] + model_weights/<layer>."""

    reader = H5Arrays(path)
    try:
        with reader.open(path) as handle:
            model_config = _config_attribute(reader, handle)
            version = _text(handle.attrs.get("keras_version", b""))
            graph, split_classes = _graph_or_raise(path, model_config, version)
            group = reader.group(handle, "model_weights") if "model_weights" in handle else handle
            layers = {name: reader.legacy_layer(group, name) for name in graph.weighted()}
    except H5_ERRORS as exc:
        raise CorruptFileError(path, f"cannot read the HDF5 model ({exc})", "save the model again") from exc
    return Contents(graph=graph, layers=layers, writer=f"Keras {version}".strip(), keras_version=version,
                    split_classes=split_classes)


def _text(value) -> str:
    """A short text the file records (the Keras version), as printable text whatever its bytes."""
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return "".join(c if c.isprintable() else "?" for c in text.encode("utf-8", "replace").decode("utf-8"))[:40]


def _config_attribute(reader: H5Arrays, handle) -> dict:
    """attrs['model_config']: a JSON object, its nesting bounded."""
    raw = handle.attrs["model_config"]
    if not isinstance(raw, (bytes, str)):
        reader.fail("attribute model_config is not text")
    config = loads(reader.path, raw, "attribute model_config", fix="save the model again")
    if not isinstance(config, dict):
        reader.fail("attribute model_config is not a JSON object")
    return config


def load_weights_h5(path: Path) -> Contents:
    """Weights-only HDF5: Keras 3 `.weights.h5` (layers/<class counter>/vars) or Keras 2 save_weights."""

    reader = H5Arrays(path)
    try:
        with reader.open(path) as handle:
            if "layers" in handle:
                layers = reader.group(handle, "layers")
                groups = {key: reader.keras3_vars(layers[key]) for key in layers}
                return Contents(groups=groups, ordered=[array for base in ("conv2d", "dense")
                                                        for key in _counter_keys(groups, base)
                                                        for array in groups[key]])
            elif "layer_names" in handle.attrs:
                names = reader.names(handle, "layer_names")
                return from_layer_list([(name, reader.legacy_layer(handle, name)) for name in names])
            raise KeyError("no 'layers' group and no 'layer_names' attribute")
    except H5_ERRORS as exc:
        raise CorruptFileError(path, f"not a Keras weights file ({exc})",
                               "save it with model.save_weights('model.weights.h5')") from exc


def load_savedmodel(path: Path, sandboxed: bool = True) -> Contents:
    """TensorFlow SavedModel directory: Keras 2 `model.save(dir)` (architecture and weights read from the files,
    TensorFlow 2.3 - 2.15), else Keras 3 `model.export()` (weights only)."""
    _check_checkpoint(path)
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
    names, arrays = _exported_variables(path, sandboxed)
    layers: list = []
    for name, array in zip(names, arrays, strict=True):
        layer = name.split("/")[0]
        if not layers or layers[-1][0] != layer:
            layers.append((layer, []))
        layers[-1][1].append(array)
    return from_layer_list(layers)


def _exported_variables(path: Path, sandboxed: bool) -> tuple:
    """(names, arrays) of a Keras 3 export's variables, in the loaded object's order: TensorFlow loads the
    SavedModel (which can run what its graph holds at load) in the source worker, sandboxed unless told not."""
    if sandboxed:
        require_sandbox(path, "a SavedModel without a Keras config is loaded by TensorFlow")
    fix = "export it again with model.export(dir)"
    with tempfile.TemporaryDirectory(prefix="gfsub-savedmodel-") as scratch:
        folder = JobFolder(Path(scratch), sandboxed)
        arrays_host, arrays_inside = folder.io("variables.npz")
        spec = {"kind": "savedmodel", "model": folder.read(path, "saved_model"), "variables": arrays_inside}
        ran = run_once(current_runtime(), WORKERS / "source_worker.py", spec, folder, LOAD_SECONDS)
        if ran.code != 0 or "names" not in ran.answer:
            reason = ran.verdict or (f"it did not finish within {LOAD_SECONDS} s" if ran.code is None else
                                     last_error(ran.error_lines)[:200] or f"exit code {ran.code}")
            raise CorruptFileError(path, f"cannot load the SavedModel ({reason})", fix)
        try:
            with np.load(arrays_host, allow_pickle=False) as archive:
                arrays = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        except (OSError, ValueError, KeyError) as exc:
            raise CorruptFileError(path, f"cannot load the SavedModel's variables ({one_line(exc)})", fix) from None
    if not arrays or len(arrays) != len(ran.answer["names"]):
        raise CorruptFileError(path, "the SavedModel has no variables", "export it with model.export(dir)")
    return [str(name) for name in ran.answer["names"]], arrays


def _check_checkpoint(path: Path) -> None:
    """The variables' declared shapes, from the checkpoint's index before any is read: no tensor over 2^28 values,
    not over 2 GiB in all (builder/limits.py)."""
    prefix = path / "variables" / "variables"
    if not prefix.with_suffix(".index").is_file():
        return
    import tensorflow as tf

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    except Exception:  # noqa: BLE001 - a damaged index: the loaders below say so in one line
        return
    budget = Budget(path)
    for name, shape in sorted(shapes.items()):
        check_elements(path, name, shape)
        budget.take(name, elements(shape) * dtypes[name].size)
