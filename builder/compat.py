"""The static guard for code that runs inside main.py: Python 3.7 and numpy 1.16 (Kaggle's 2020 runtime).

agent_runtime's modules and a user's --encoder file pass it before they are embedded: the Python 3.7 grammar, no
3.8+ idioms that the 3.7 grammar lets through, and none of the numpy names added after 1.16 (or removed in 2.0).
"""

import ast
import re

# numpy names newer than 1.16 (and names numpy 2 removed): main.py must use none of them.
NUMPY_DENYLIST = ("sliding_window_view", "default_rng", "numpy.typing", "np.typing", "np.concat", "np.astype",
                  "np.permute_dims", "np.unstack", "np.isdtype", "np.vecdot", "np.bitwise_count", "np.float_",
                  "np.NaN", "np.Inf", "np.product", "np.alltrue", "np.sometrue", "np.cumproduct", "np.in1d",
                  "np.row_stack", "np.trapz", "np.round_", "copy=None")
BUILTIN_GENERICS = {"list", "dict", "tuple", "set", "frozenset", "type"}


def post_37_constructs(source: str) -> list:
    """What Python 3.7 / numpy 1.16 cannot run, as `line N: what` (raises SyntaxError for the 3.8+ grammar)."""
    tree = ast.parse(source, feature_version=(3, 7))
    found = []
    annotations = [n.annotation for n in ast.walk(tree) if isinstance(n, (ast.arg, ast.AnnAssign)) and n.annotation]
    annotations += [n.returns for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.returns]
    for annotation in annotations:
        for node in ast.walk(annotation):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
                found.append(f"line {node.lineno}: X | Y annotation (Python 3.10)")
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                    and node.value.id in BUILTIN_GENERICS:
                found.append(f"line {node.lineno}: {node.value.id}[...] annotation (Python 3.9)")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg == "strict" for k in node.keywords) \
                and getattr(node.func, "id", "") == "zip":
            found.append(f"line {node.lineno}: zip(strict=) (Python 3.10)")
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            found.append(f"line {node.lineno}: from __future__ import (hides annotations from 3.7's checks)")
    for number, line in enumerate(source.splitlines(), start=1):
        for word in NUMPY_DENYLIST:
            if re.search(re.escape(word) + r"(?!\w)", line):
                found.append(f"line {number}: {word} (not in numpy 1.16, or gone from numpy 2)")
    return found
