"""Weights pickled as `zlib.compress(pickle.dumps(model.get_weights()))`, raw or as base64 text, read safely.

One way to try a blob, for pickle files and for the literals of an old main.py alike: zlib, or base64 then zlib,
then an unpickler that admits numpy arrays and nothing else (a pickle can otherwise run any code). `load_pickle` is
the loader of a pickle file (load.py's "pickle" format). The zlib output is bounded (builder/limits.py: no zlib
bomb), and so is every shape the pickle asks numpy to allocate.
"""

import base64
import binascii
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from builder.contents import Contents
from builder.limits import MAX_ELEMENTS, WEIGHT_KINDS, elements, inflate
from common.errors import CorruptFileError


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits numpy arrays and dtypes, nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        if name == "ndarray":
            return NDARRAY  # _reconstruct's first argument; called itself, it could allocate any shape
        if name == "_reconstruct":
            return _reconstruct
        module = module.replace("numpy.core.", "numpy._core.") if hasattr(np, "_core") else module
        return super().find_class(module, name)


NDARRAY = "numpy.ndarray"  # what the unpickler gives for the class: only _reconstruct takes it
NUMPY_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]  # numpy.core or numpy._core's, by this numpy's name


def _reconstruct(subtype, shape, dtype):
    """numpy's _reconstruct (the empty array an array's pickled state then fills), for plain arrays of at most
    MAX_ELEMENTS (numpy writes shape (0,))."""
    if subtype is not NDARRAY or elements(np.atleast_1d(shape)) > MAX_ELEMENTS:
        raise pickle.UnpicklingError(f"refusing an array of shape {shape}: over gfsub's limit of 2**28 values")
    return NUMPY_RECONSTRUCT(np.ndarray, shape, dtype)


class NotWeightArrays(ValueError):
    """The blob decoded, but to something other than a list of numpy arrays; the message says what."""


def looks_like_zlib(head: bytes) -> bool:
    return len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0


def base64_zlib(data: bytes) -> "bytes | None":
    """The zlib bytes if `data` is base64 text of a zlib stream (as pasted into public main.py files)."""
    text = data.strip()
    if not text.startswith(b"e"):  # base64 of a zlib header (0x78 ..) always starts with "e"
        return None
    try:
        decoded = base64.b64decode(b"".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if looks_like_zlib(decoded[:2]) else None


def zlib_stream(data: bytes) -> "bytes | None":
    """The zlib stream `data` holds, raw or as base64 text, or None."""
    if looks_like_zlib(data[:2]):
        return data
    return base64_zlib(data)


def unpickle_arrays(stream: bytes, path: Path) -> list:
    """The list of arrays in a zlib stream of a pickle; raises zlib.error for damaged zlib data and
    NotWeightArrays for a pickle that is refused or holds something else."""
    data = inflate(path, stream, "the zlib-compressed pickle")
    try:
        payload = ArraysOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError, KeyError,
            OverflowError) as exc:
        raise NotWeightArrays(f"not a safe pickle of weight arrays ({exc})") from exc
    except MemoryError:
        raise NotWeightArrays("not a pickle of weight arrays (it declares more bytes than it holds)") from None
    if not isinstance(payload, (list, tuple)) or not payload or not all(isinstance(a, np.ndarray) for a in payload):
        raise NotWeightArrays(f"the pickle holds a {type(payload).__name__}, not a list of arrays")
    odd = next((array for array in payload if array.dtype.kind not in WEIGHT_KINDS or array.dtype.hasobject), None)
    if odd is not None:
        raise NotWeightArrays(f"the pickle holds an array of dtype {odd.dtype}, not of numbers")
    return list(payload)


def arrays_in(data: bytes, path: Path) -> "list | None":
    """The weight arrays `data` encodes (zlib or base64-zlib of an arrays-only pickle), or None."""
    stream = zlib_stream(data)
    if stream is None:
        return None
    try:
        return unpickle_arrays(stream, path)
    except (zlib.error, NotWeightArrays):
        return None


def load_pickle(path: Path) -> Contents:
    """zlib.compress(pickle.dumps(model.get_weights())), raw or base64 text."""
    raw = path.read_bytes()
    try:
        return Contents(ordered=unpickle_arrays(zlib_stream(raw) or raw, path))
    except zlib.error as exc:
        raise CorruptFileError(path, f"truncated or damaged zlib data ({exc})",
                               "write it again with zlib.compress(pickle.dumps(model.get_weights()))") from exc
    except NotWeightArrays as exc:
        raise CorruptFileError(path, str(exc), "save the weights with np.savez(path, *model.get_weights()) "
                               "instead") from exc
