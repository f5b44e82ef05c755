"""Weights pickled as `zlib.compress(pickle.dumps(model.get_weights()))`, raw or as base64 text, read safely.

One way to try a blob, for pickle files and for the literals of an old main.py alike: zlib, or base64 then zlib,
then an unpickler that admits numpy arrays and nothing else (a pickle can otherwise run any code). `load_pickle` is
the loader of a pickle file (load.py's "pickle" format).
"""

import base64
import binascii
import io
import pickle
import zlib
from pathlib import Path

import numpy as np

from builder.contents import Contents
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
        module = module.replace("numpy.core.", "numpy._core.") if hasattr(np, "_core") else module
        return super().find_class(module, name)


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


def unpickle_arrays(stream: bytes) -> list:
    """The list of arrays in a zlib stream of a pickle; raises zlib.error for damaged zlib data and
    NotWeightArrays for a pickle that is refused or holds something else."""
    try:
        payload = ArraysOnlyUnpickler(io.BytesIO(zlib.decompress(stream))).load()
    except zlib.error:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise NotWeightArrays(f"not a safe pickle of weight arrays ({exc})") from exc
    if not isinstance(payload, (list, tuple)) or not payload or not all(isinstance(a, np.ndarray) for a in payload):
        raise NotWeightArrays(f"the pickle holds a {type(payload).__name__}, not a list of arrays")
    return list(payload)


def arrays_in(data: bytes) -> "list | None":
    """The weight arrays `data` encodes (zlib or base64-zlib of an arrays-only pickle), or None."""
    stream = zlib_stream(data)
    if stream is None:
        return None
    try:
        return unpickle_arrays(stream)
    except (zlib.error, NotWeightArrays):
        return None


def load_pickle(path: Path) -> Contents:
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
