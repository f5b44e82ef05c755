"""Mutations of `zlib.compress(pickle.dumps(model.get_weights()))`, raw or as base64 text (the old notebook's file).

Below the zlib layer, so that the unpickler sees them: the pickle's bytes damaged; the arrays of other dtypes,
ranks or counts; an array whose pickled state declares a shape 10^6 times larger, or whose `_reconstruct` asks for
2^33 bytes; a payload that is no list of arrays (nested 10^5 deep, a dict, a refused global); a bytes opcode that
declares 2^40 bytes; a zlib bomb of 64 MB of zeros.
"""

import ast
import base64
import functools
import pickle
import random
import struct
import zlib

import numpy as np

from tests.fuzz.mutate_bytes import DEEP, Skip, random_bytes

BOMB_BYTES = 64 << 20
ODD_DTYPES = ("complex64", "float16", "int64", "bool", "object", "U3", "S4", "datetime64[s]", ">f4", "V4")


class Crafted:
    """Pickles as the (callable, args[, state]) it is given: an array's pickle with its parts changed."""

    def __init__(self, reduce_value: tuple) -> None:
        self.reduce_value = reduce_value

    def __reduce__(self):
        return self.reduce_value


def decoded(data: bytes) -> tuple:
    """(the pickle bytes, whether the file was base64 text)."""
    text = data.strip()
    as_base64 = not text.startswith(b"x")
    try:
        stream = base64.b64decode(b"".join(text.split())) if as_base64 else data
        return zlib.decompress(stream), as_base64
    except (zlib.error, ValueError):
        raise Skip from None


def encoded(payload: bytes, as_base64: bool) -> bytes:
    stream = zlib.compress(payload)
    return base64.b64encode(stream) if as_base64 else stream


def _arrays(payload: bytes) -> list:
    arrays = pickle.loads(payload)  # the harness's own seed, written by this harness
    if not isinstance(arrays, list) or not arrays:
        raise Skip
    return arrays


def pickle_bytes(rng: random.Random, data: bytes) -> tuple:
    payload, as_base64 = decoded(data)
    changed, what = random_bytes(rng, payload)
    return encoded(changed, as_base64), f"pickle bytes: {what}"


def odd_arrays(rng: random.Random, data: bytes) -> tuple:
    payload, as_base64 = decoded(data)
    arrays = _arrays(payload)
    index = rng.randrange(len(arrays))
    choice = rng.randrange(5)
    if choice == 0:
        kind = rng.choice(ODD_DTYPES)
        arrays[index] = arrays[index].astype(kind) if kind != "V4" else arrays[index].view("V4")
        what = f"array {index} as {kind}"
    elif choice == 1:
        del arrays[index]
        what = f"array {index} removed"
    elif choice == 2:
        arrays[index] = arrays[index][..., None] if rng.random() < 0.5 else arrays[index].reshape(-1)
        what = f"array {index} of another rank"
    elif choice == 3:
        arrays[index] = rng.choice((np.zeros((0,), "f4"), np.float32(1.0) * np.ones(()), np.asfortranarray(
            arrays[index].T)))
        what = f"array {index} empty, 0-d or transposed"
    else:
        arrays.insert(index, arrays[index])
        what = f"array {index} twice"
    return encoded(pickle.dumps(arrays), as_base64), what


def inflated_state(rng: random.Random, data: bytes) -> tuple:
    """An array's pickle whose state declares a shape 10^6 times larger, or whose _reconstruct asks for 2^33."""
    payload, as_base64 = decoded(data)
    arrays = _arrays(payload)
    index = rng.randrange(len(arrays))
    array = arrays[index]
    reconstruct = np.ndarray.__reduce__(array)[0]
    if rng.random() < 0.5:
        shape = (array.shape[0] * 10 ** 6,) + array.shape[1:] if array.ndim else (10 ** 6,)
        crafted = (reconstruct, (np.ndarray, (0,), b"b"), (1, shape, array.dtype, False, array.tobytes()))
        what = f"array {index}'s state declares shape {shape}"
    else:
        crafted = (reconstruct, (np.ndarray, (2 ** 33,), b"b"), np.ndarray.__reduce__(array)[2])
        what = f"array {index}'s _reconstruct asks for 2^33 bytes"
    arrays[index] = Crafted(crafted)
    return encoded(pickle.dumps(arrays, protocol=2), as_base64), what


def odd_payload(rng: random.Random, data: bytes) -> tuple:
    _, as_base64 = decoded(data)
    kind = rng.randrange(6)
    payload = [
        b"\x80\x02" + b"]" * DEEP + b"a" * (DEEP - 1) + b".",  # lists nested 10^5 deep
        pickle.dumps({"kernel": np.zeros(3, "f4")}),
        pickle.dumps([[1.0, 2.0], [3.0]]),
        b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.",  # a refused global
        b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 40) + b"abc.",  # BINBYTES8 declaring 2^40 bytes
        b"\x80\x02" + b"K\x01" * DEEP + b"." ,  # 10^5 ints on the stack
    ][kind]
    what = ("lists nested 10^5 deep", "a dict", "lists of floats", "builtins.eval", "2^40 declared bytes",
            "10^5 values on the stack")[kind]
    return encoded(payload, as_base64), f"payload: {what}"


@functools.cache
def _bomb() -> bytes:
    stream = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    return b"".join(stream.compress(zeros) for _ in range(BOMB_BYTES >> 20)) + stream.flush()


def zlib_bomb(rng: random.Random, data: bytes) -> tuple:
    _, as_base64 = decoded(data)
    return (base64.b64encode(_bomb()) if as_base64 else _bomb()), f"a zlib bomb of {BOMB_BYTES >> 20} MB of zeros"


def embedded(rng: random.Random, data: bytes) -> tuple:
    """An old main.py's embedded blob (a bytes literal, or base64 text in a str literal) mutated as a pickle file."""
    lines = data.split(b"\n")
    index = next((i for i, line in enumerate(lines) if line.startswith(b"WEIGHTS = ")), None)
    if index is None:
        raise Skip
    literal = lines[index][len(b"WEIGHTS = "):]
    if literal.startswith((b"b'", b"b\"")):
        blob, what = random_pickle(rng, ast.literal_eval(literal.decode()))
        lines[index] = b"WEIGHTS = " + repr(blob).encode()
    else:
        start, end = literal.index(b"'") + 1, literal.rindex(b"'")
        blob, what = random_pickle(rng, literal[start:end])
        lines[index] = b"WEIGHTS = " + literal[:start] + blob + literal[end:]
    return b"\n".join(lines), f"embedded blob: {what}"


PICKLE_MUTATORS = (pickle_bytes, pickle_bytes, odd_arrays, odd_arrays, inflated_state, odd_payload, zlib_bomb)


def random_pickle(rng: random.Random, data: bytes) -> tuple:
    return rng.choice(PICKLE_MUTATORS)(rng, data)
