"""Mutations of any file's bytes, and of Python source text (an old main.py, an encoder).

A mutator is `(rng, data) -> (mutated bytes, what was done)`; it raises Skip when it does not apply to this data.
"""

import random

DEEP = 100_000  # "nesting 10^5 deep"


class Skip(Exception):
    """This mutator does not apply to this input."""


def truncate(rng: random.Random, data: bytes) -> tuple:
    cut = rng.choice([0, 1, 2, 4, 8, 16, 64, len(data) // 2, len(data) - 1, rng.randrange(max(1, len(data)))])
    cut = max(0, min(cut, len(data) - 1))
    return data[:cut], f"truncated to {cut} of {len(data)} bytes"


def flip_bits(rng: random.Random, data: bytes) -> tuple:
    if not data:
        raise Skip
    out = bytearray(data)
    count = rng.choice((1, 1, 1, 2, 4, 16))
    positions = [rng.randrange(len(out)) for _ in range(count)]
    for position in positions:
        out[position] ^= 1 << rng.randrange(8)
    return bytes(out), f"{count} bit(s) flipped (first at byte {positions[0]})"


def overwrite(rng: random.Random, data: bytes) -> tuple:
    if not data:
        raise Skip
    start = rng.randrange(len(data))
    length = rng.choice((1, 2, 4, 8, 64))
    fill = rng.choice((b"\x00", b"\xff", None))
    patch = fill * length if fill else bytes(rng.randrange(256) for _ in range(length))
    return data[:start] + patch + data[start + length:], f"{length} bytes at {start} overwritten"


def duplicate_chunk(rng: random.Random, data: bytes) -> tuple:
    start = rng.randrange(max(1, len(data)))
    chunk = data[start:start + rng.choice((1, 16, 512))]
    at = rng.randrange(max(1, len(data)))
    return data[:at] + chunk + data[at:], f"{len(chunk)} bytes from {start} inserted at {at}"


def append_junk(rng: random.Random, data: bytes) -> tuple:
    junk = bytes(rng.randrange(256) for _ in range(rng.choice((1, 100, 4096))))
    return data + junk, f"{len(junk)} junk bytes appended"


BYTE_MUTATORS = (truncate, flip_bits, flip_bits, overwrite, duplicate_chunk, append_junk)


def random_bytes(rng: random.Random, data: bytes) -> tuple:
    return rng.choice(BYTE_MUTATORS)(rng, data)


# ----- Python source ------------------------------------------------------------------------------------------
DEEP_PYTHON = {
    "parentheses": lambda: "(" * DEEP + "1" + ")" * DEEP,
    "lists": lambda: "[" * DEEP + "]" * DEEP,
    "unary minus": lambda: "-" * DEEP + "1",
    "not": lambda: "not " * DEEP + "x",
    "string concatenation": lambda: " + ".join(["'ab'"] * DEEP),
    "bytes concatenation": lambda: " + ".join(["b'ab'"] * DEEP),
    "attribute chain": lambda: "x" + ".a" * DEEP,
    "lambdas": lambda: "lambda: " * DEEP + "0",
}


def python_deep(rng: random.Random, data: bytes) -> tuple:
    kind = rng.choice(sorted(DEEP_PYTHON))
    line = f"DEEP = {DEEP_PYTHON[kind]()}\n".encode()
    return _insert_line(rng, data, line), f"a {kind} expression 10^5 deep"


def python_not_utf8(rng: random.Random, data: bytes) -> tuple:
    at = rng.randrange(max(1, len(data)))
    return data[:at] + rng.choice((b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\x00")) + data[at:], "a byte that is not UTF-8"


def python_statement(rng: random.Random, data: bytes) -> tuple:
    line = rng.choice((
        b"import os\n", b"import tensorflow as tf\n", b"from . import sibling\n", b"def encode(a, b):\n    pass\n",
        b"def decide(outputs):\n    return 0\n", b"def agent(obs):\n    return [0]\n", b"encode = 3\n",
        b"while True:\n    pass\n", b"print(f'{x!r:>{width}}')\n", b"x: int = 3\n", b"if (n := 10) > 5:\n    pass\n",
        b"def f(a, /, b):\n    pass\n", b"match x:\n    case 1:\n        pass\n", b"\tx = 1\n", b"x = 1 +\n",
        b"async def encode(obs):\n    return obs\n", b"class encode:\n    pass\n"))
    return _insert_line(rng, data, line), f"a line inserted: {line.decode()[:30]!r}"


def python_rename(rng: random.Random, data: bytes) -> tuple:
    names = [name for name in (b"def encode", b"def decide", b"def reset", b"WEIGHTS", b"import numpy") if name in data]
    if not names:
        raise Skip
    name = rng.choice(names)
    return data.replace(name, name + b"_renamed", 1), f"{name.decode()} renamed"


def _insert_line(rng: random.Random, data: bytes, line: bytes) -> bytes:
    lines = data.split(b"\n")
    at = rng.randrange(len(lines) + 1)
    return b"\n".join(lines[:at] + [line.rstrip(b"\n")] + lines[at:])


PYTHON_MUTATORS = (python_deep, python_not_utf8, python_statement, python_rename)
