"""Weights embedded in an old hand-written main.py, found without executing it.

Public 2020 kernels pasted `WEIGHTS = b'x\\x9c...'`: a zlib-compressed pickle of `model.get_weights()` as a bytes
literal (or as base64 text). The file is parsed, never run; every string or bytes literal that decodes to a list
of numpy arrays (through the same arrays-only unpickler as a pickle file) is a candidate, and the largest wins.
`load_python` is the loader of such a file (load.py's "python" format).
"""

import ast
import zlib
from pathlib import Path

import numpy as np

from builder.contents import SUPPORTED_HINT, Contents
from builder.legacy.pickles import NotWeightArrays, unpickle_arrays, zlib_stream
from common.errors import CorruptFileError, UnknownFormatError


def looks_like_python(path: Path, head: bytes) -> bool:
    """A .py file, or text that starts like Python source."""
    if path.suffix == ".py":
        return True
    text = head.lstrip()
    return text.startswith((b"import ", b"from ", b"#", b"def ", b'"""'))


def embedded_weight_lists(source: str, path: Path) -> tuple:
    """(every list of numpy arrays encoded in a literal of this Python source, largest first; why a zlib pickle
    literal was refused, if one was and none decoded)."""
    found, refusal = [], ""
    nodes = list(ast.walk(ast.parse(source)))
    # The parts of `a + b + ...` are read once, as the whole sum, not again as every partial sum.
    parts = {id(child) for node in nodes if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add)
             for child in (node.left, node.right)}
    for node in nodes:
        value = None if id(node) in parts else _literal(node)
        if value is None or len(value) <= 64:
            continue
        stream = zlib_stream(value if isinstance(value, bytes) else value.encode("latin-1", "ignore"))
        if stream is None:
            continue
        try:
            found.append(unpickle_arrays(stream, path))
        except NotWeightArrays as exc:
            refusal = refusal or str(exc)
        except zlib.error:
            continue
    return sorted(found, key=lambda arrays: -sum(int(np.size(a)) for a in arrays)), refusal


def _literal(node) -> "bytes | str | None":
    """The text of a str/bytes literal, also when written as `a + b + ...` or `b''.join([a, b, ...])`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (bytes, str)):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [_literal(part) for part in _summands(node)]
        if parts[0] is not None and all(type(part) is type(parts[0]) for part in parts):
            return parts[0][:0].join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
        separator = _literal(node.func.value)
        parts = [_literal(item) for item in node.args[0].elts]
        if separator is not None and parts and all(type(part) is type(separator) for part in parts):
            return separator.join(parts)
    return None


def _summands(node) -> list:
    """The operands of `a + b + c + ...`, left to right, found without recursion (a sum may have 10^5 terms)."""
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack += [current.right, current.left]
        else:
            found.append(current)
    return found


def load_python(path: Path) -> Contents:
    """An old main.py: the largest zlib-pickled get_weights() list in its literals (parsed, never executed)."""
    try:
        found, refusal = embedded_weight_lists(path.read_text(encoding="utf-8"), path)
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError) as exc:  # nested too deep
        raise CorruptFileError(path, f"not a Python file gfsub can parse ({exc})",
                               "pass the main.py that holds the weights, or the weights themselves") from exc
    if not found:
        if refusal:
            raise CorruptFileError(path, f"its embedded pickle is not a plain list of arrays ({refusal})",
                                   "save the weights with np.savez(path, *model.get_weights()) instead")
        raise UnknownFormatError(path, "a Python file with no embedded weights (gfsub looks for a zlib "
                                 "pickle of get_weights() as a bytes or base64 literal)", SUPPORTED_HINT)
    return Contents(ordered=found[0])
