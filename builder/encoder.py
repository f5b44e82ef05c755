"""`--encoder FILE.py`: a competitor's own feature code, embedded verbatim in main.py and used by the verification.

The file defines `encode(obs)`: one player's raw observation (players_raw[0], a dict) -> the model's input (an
array) or inputs (a list of arrays in the model's input order, or a dict by input name). It may define
`decide(outputs, obs)`: the model's outputs by name (arrays, batch axis kept) and the same observation -> the action,
an int in 0..18 (masks and rules around the net live here); and `reset()`, called when a new match begins. It must
run on Python 3.7 and numpy 1.16 (builder/compat.py), import only the standard library of Python 3.7 and numpy,
and define no top-level name that main.py's own code uses.
"""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from builder.compat import post_37_constructs
from common.errors import EncoderError

NEWER_THAN_37 = {"graphlib", "tomllib", "zoneinfo", "_tokenize", "_wmi"}  # standard modules Python 3.7 lacks
ALLOWED_IMPORTS = {"numpy"} | {name for name in sys.stdlib_module_names
                               if not name.startswith("_") and name not in NEWER_THAN_37}


@dataclass(frozen=True)
class Encoder:
    path: Path
    source: str
    has_reset: bool
    names: frozenset  # its top-level names
    has_decide: bool = False

    def functions(self) -> tuple:
        """(encode, reset or None, decide or None), from a fresh run of the file (on the builder's side, for the
        verification: each run of the reference starts with the encoder's own state new)."""
        namespace: dict = {"__name__": "gfsub_encoder"}
        exec(compile(self.source, str(self.path), "exec"), namespace)
        return namespace["encode"], namespace.get("reset"), namespace.get("decide")


def read_encoder(path: "str | Path", reserved: set) -> Encoder:
    """The encoder file, checked: it parses with Python 3.7's grammar, uses nothing newer, defines encode(obs)."""
    path = Path(path)
    if not path.is_file():
        raise EncoderError(path, "no such encoder file", "check the --encoder path")
    try:
        source = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EncoderError(path, f"is not UTF-8 text (byte {exc.start}: {exc.reason})", "save it as UTF-8") from None
    try:
        problems = post_37_constructs(source)
    except SyntaxError as exc:
        raise EncoderError(path, f"does not parse as Python 3.7 (line {exc.lineno}: {exc.msg})",
                           "write it for Python 3.7, which Kaggle's 2020 runtime runs") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a null byte; an expression nested too deep
        raise EncoderError(path, f"does not parse as Python ({type(exc).__name__}: {exc})",
                           "write plain Python 3.7: no null bytes, no expression nested hundreds deep") from None
    if problems:
        raise EncoderError(path, f"uses what Python 3.7 / numpy 1.16 lack: {problems[0]}",
                           "write it for Python 3.7 and numpy 1.16, which Kaggle's 2020 runtime runs")
    tree = ast.parse(source)
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
            if module.split(".")[0] not in ALLOWED_IMPORTS:
                raise EncoderError(path, f"imports {module}, which main.py cannot count on at Kaggle",
                                   "import only numpy and Python 3.7's standard library")
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    encode = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "encode"), None)
    if encode is None or len(encode.args.args) != 1:
        raise EncoderError(path, "defines no function encode(obs)", "define encode(obs): the raw observation -> "
                           "the model's input (an array, or a list of arrays)")
    decide = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "decide"), None)
    if decide is not None and len(decide.args.args) != 2:
        raise EncoderError(path, "defines decide() without the two arguments (outputs, obs)",
                           "define decide(outputs, obs): the model's outputs by name and the raw observation -> "
                           "the action, an int in 0..18")
    clashes = sorted(names & set(reserved) - ALLOWED_IMPORTS - {"np"})
    if clashes:
        raise EncoderError(path, f"defines {', '.join(clashes)}, a name main.py's own code uses",
                           "rename it in your encoder")
    return Encoder(path, source, "reset" in names, frozenset(names), decide is not None)
