"""Weight codec: a list of named arrays <-> (JSON-able manifest, base64 text). No pickle anywhere.

Encoding: arrays as little-endian raw bytes, concatenated, zlib-compressed, base64-encoded.
The manifest records each array's name, shape and dtype plus the sha256 of the raw bytes,
which decoding checks, so a truncated or edited blob fails loudly instead of playing badly.
"""

import base64
import hashlib
import zlib

import numpy as np

CODEC_VERSION = 1


class WeightBlobError(ValueError):
    """The embedded weights do not match their manifest."""


def encode_weights(named_arrays: list, dtype: str = "float32") -> tuple:
    """[(name, array)] -> (manifest dict, base64 str); float arrays are stored as little-endian `dtype`, integer and
    bool arrays (an ONNX model's indices) as they are."""
    entries, chunks = [], []
    for name, array in named_arrays:
        array = np.asarray(array)
        store = np.dtype(dtype if array.dtype.kind == "f" else array.dtype).newbyteorder("<")
        data = np.ascontiguousarray(array, dtype=store)
        entries.append({"name": name, "shape": list(data.shape), "dtype": store.str})
        chunks.append(data.tobytes())
    raw = b"".join(chunks)
    manifest = {
        "codec": CODEC_VERSION,
        "arrays": entries,
        "n_bytes": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    blob = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    return manifest, blob


def decode_weights(manifest: dict, blob: str) -> list:
    """Inverse of encode_weights: -> [(name, array)], float32 or the integer / bool type stored; raises
    WeightBlobError on any mismatch."""
    if manifest.get("codec") != CODEC_VERSION:
        raise WeightBlobError(f"unsupported weight codec {manifest.get('codec')!r}")
    try:
        raw = zlib.decompress(base64.b64decode(blob))
    except (ValueError, zlib.error) as exc:
        raise WeightBlobError(f"weight blob is corrupt: {exc}") from exc
    if len(raw) != manifest["n_bytes"] or hashlib.sha256(raw).hexdigest() != manifest["sha256"]:
        raise WeightBlobError("weight blob does not match its sha256: it was truncated or edited")
    arrays, offset = [], 0
    for entry in manifest["arrays"]:
        dtype = np.dtype(entry["dtype"])
        count = int(np.prod(entry["shape"], dtype=np.int64))
        data = np.frombuffer(raw, dtype=dtype, count=count, offset=offset)
        offset += count * dtype.itemsize
        data = data.reshape(entry["shape"])
        native = np.float32 if dtype.kind == "f" else dtype.newbyteorder("=")
        arrays.append((entry["name"], data.astype(native)))
    if offset != len(raw):
        raise WeightBlobError("weight blob is longer than its manifest says")
    return arrays
