"""Step 1 of the pipeline: read trained weights from any of the six supported formats.

The format is detected from the content (zip, HDF5, zlib signatures, a SavedModel directory),
not from the extension. Formats that carry a model config yield the architecture and a
per-layer mapping; weights-only formats yield arrays in the source model's `get_weights()` order.
Each format is read by its front door's loader: builder/keras/files.py (.keras, .h5, .weights.h5, a SavedModel),
builder/onnx/ (.onnx, with its external data), builder/torch/ (.pt2), builder/legacy/ (a zlib pickle, an old
main.py); an .npz of get_weights() is read here.
"""

import math
import tokenize
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from builder.contents import SUPPORTED_HINT, Contents
from builder.keras.files import load_h5_model, load_keras, load_savedmodel, load_weights_h5
from builder.legacy.pickles import base64_zlib, load_pickle, looks_like_zlib
from builder.legacy.python_source import load_python, looks_like_python
from builder.limits import H5_ERRORS, ZIP_ERRORS, Budget, check_tensor, check_zip
from builder.onnx.reader import onnx_contents
from builder.torch.exported import load_pt2, looks_like_pt2
from common.errors import CorruptFileError, MissingFileError, UnknownFormatError
from common.files import sha256_of

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
FORMATS = ("keras", "h5", "weights.h5", "savedmodel", "onnx", "pt2", "npz", "pickle", "python")
ONNX_FIRST_BYTE = b"\x08"  # a ModelProto starts with field 1, ir_version, a varint


# The weights as every later step takes them: ("layer/role", float32 array), e.g. ("fc1/kernel", ...), in the
# graph's order (validate.resolve_model makes it from SourceWeights).
NamedWeights = list[tuple[str, np.ndarray]]


@dataclass(frozen=True)
class SourceWeights(Contents):
    """A model or weights file as loaded: where it is, its format and hash, and its contents."""

    path: Path = Path()
    format: str = ""
    sha256: str = ""


def load_weights(path: "str | Path", sandboxed: bool = True) -> SourceWeights:
    """Detect the format of `path` and read it. Only a .pt2 and a Keras 3 export (SavedModel) are loaded by their
    framework, which can run what the file holds: in a sandbox, unless told not."""
    path = Path(path)
    kind = detect_format(path)
    loader = {
        "keras": load_keras,
        "h5": load_h5_model,
        "weights.h5": load_weights_h5,
        "savedmodel": partial(load_savedmodel, sandboxed=sandboxed),
        "onnx": onnx_contents,
        "pt2": partial(load_pt2, sandboxed=sandboxed),
        "npz": _load_npz,
        "pickle": load_pickle,
        "python": load_python,
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
    if path.suffix == ".onnx" or head.startswith(ONNX_FIRST_BYTE):
        return "onnx"
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
    except (*ZIP_ERRORS, ValueError) as exc:
        raise CorruptFileError(path, f"truncated or damaged zip archive ({exc})", "export the model again") from exc
    if "config.json" in names and "model.weights.h5" in names:
        return "keras"
    if names and all(name.endswith(".npy") for name in names):
        return "npz"
    if looks_like_pt2(names):
        return "pt2"
    raise UnknownFormatError(path, f"a zip archive that is neither .keras nor .npz (holds {names[:4]})",
                             SUPPORTED_HINT)


def _hdf5_kind(path: Path) -> str:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            return "h5" if "model_config" in handle.attrs else "weights.h5"
    except H5_ERRORS as exc:
        raise CorruptFileError(path, f"truncated or damaged HDF5 file ({exc})", "export the model again") from exc


# --- the one loader of no front door -----------------------------------------------------------

def _load_npz(path: Path) -> Contents:
    """np.savez(path, *model.get_weights()): arr_0, arr_1, ... in get_weights() order; each member's .npy header
    checked before any is read."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(path, archive)
            budget = Budget(path)
            for info in archive.infolist():
                _check_npy(path, archive, info, budget)
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            if all(k.startswith("arr_") and k[4:].isdigit() for k in keys):
                keys.sort(key=lambda k: int(k[4:]))
            return Contents(ordered=[archive[k] for k in keys])
    except (*ZIP_ERRORS, ValueError) as exc:
        raise CorruptFileError(path, f"cannot read the .npz ({exc})",
                               "save it with np.savez(path, *model.get_weights())") from exc


def _check_npy(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget) -> None:
    """A member's .npy header: a number dtype, at most 2^28 values, and as many bytes as its shape says."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in readers:
            raise ValueError(f"member {info.filename} is .npy version {version}, which np.savez writes for no array "
                             "of numbers")
        try:
            shape, _, dtype = readers[version](member)
        except (SyntaxError, tokenize.TokenError) as exc:  # numpy parses the header as a Python literal
            raise ValueError(f"member {info.filename} has a damaged .npy header ({exc})") from None
        data_start = member.tell()
    check_tensor(path, info.filename, shape, dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if info.file_size != data_start + nbytes:
        raise ValueError(f"member {info.filename} holds {info.file_size - data_start:,} bytes of data; its shape "
                         f"{shape} of {dtype} needs {nbytes:,}")
    budget.take(info.filename, nbytes)
