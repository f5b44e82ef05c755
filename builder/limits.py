"""The limits every loader checks before it allocates, and the checks themselves (issue 27: no file crashes gfsub).

What a file declares is checked before anything of that size is made: a tensor's shape and dtype, a model's total
weight bytes, a zip member's uncompressed size and compression ratio, a zlib stream's output, a JSON document's
nesting. Breaking a limit is one line naming the file, the field and the limit, and exit 2: ModelTooLargeError for
what is too large, CorruptFileError (or the file's own error class) for what no writer of the format makes.
"""

import json
import zipfile
import zlib
from pathlib import Path

from common.errors import CorruptFileError, GfsubError, ModelTooLargeError

MAX_ELEMENTS = 2 ** 28  # one tensor (an initializer, a dataset, a declared or computed shape)
MAX_MODEL_BYTES = 2 << 30  # all the weights of one model
MAX_MEMBER_BYTES = 2 << 30  # one zip member or decompressed stream, uncompressed
MAX_ARCHIVE_BYTES = MAX_MODEL_BYTES + (64 << 20)  # every member of an archive: the weights and their config
MAX_RATIO = 100  # uncompressed / compressed, for a zip member or zlib stream ...
RATIO_FLOOR = 16 << 20  # ... once it is over 16 MiB (small files of zeros and padding compress better)
MAX_JSON_DEPTH = 100  # a Keras config nests about 12 deep, an episode 9
WEIGHT_KINDS = "fiub"  # numpy dtype kinds weights are stored in: float, int, unsigned int, bool
SMALLER = "a Kaggle football agent's model is far smaller: check the export"
# What the libraries raise for a damaged file: zipfile (a flipped flag says encrypted, or an unknown compression:
# RuntimeError, NotImplementedError) and h5py (RuntimeError for a damaged B-tree or heap, besides OSError).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, KeyError)
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)
CHUNK = 1 << 16


def size_text(nbytes: int) -> str:
    """2147483648 -> '2 GiB'."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return f"{nbytes / (1 << shift):.3g} {unit}"
    return f"{nbytes} bytes"


def elements(dims) -> int:
    count = 1
    for d in dims:
        count *= max(int(d), 1)
    return count


def check_elements(path: Path, name: str, dims) -> None:
    """No tensor over MAX_ELEMENTS, from its dims alone."""
    count = elements(dims)
    if count > MAX_ELEMENTS:
        raise ModelTooLargeError(path, f"tensor '{name}' has {count} elements (shape {list(dims)}), over gfsub's "
                                 f"limit of 2**28", SMALLER)


def check_tensor(path: Path, name: str, shape, dtype) -> None:
    """A stored weight: a numeric dtype and at most MAX_ELEMENTS, from its header alone."""
    if dtype.kind not in WEIGHT_KINDS or dtype.hasobject or dtype.shape:
        raise CorruptFileError(path, f"tensor '{name}' is of dtype {dtype}, not a number type weights are stored in",
                               "save the weights as float32 arrays")
    check_elements(path, name, shape)


class Budget:
    """The bytes of a model's weights read so far, against MAX_MODEL_BYTES, taken before each is read."""

    def __init__(self, path: Path) -> None:
        self.path, self.total = path, 0

    def take(self, name: str, nbytes: int) -> None:
        self.total += int(nbytes)
        if self.total > MAX_MODEL_BYTES:
            raise ModelTooLargeError(self.path, f"its weights come to {size_text(self.total)} at tensor '{name}', "
                                     f"over gfsub's limit of {size_text(MAX_MODEL_BYTES)}", SMALLER)


def check_ratio(path: Path, what: str, size: int, compressed: int) -> None:
    """`size` bytes from `compressed` ones: within MAX_MEMBER_BYTES, and within MAX_RATIO once over RATIO_FLOOR."""
    if size > MAX_MEMBER_BYTES:
        raise ModelTooLargeError(path, f"{what} is {size:,} bytes uncompressed, over gfsub's limit of "
                                 f"{size_text(MAX_MEMBER_BYTES)}", SMALLER)
    if size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1):
        raise CorruptFileError(path, f"{what} expands {compressed:,} bytes to {size:,}, over gfsub's limit of "
                               f"{MAX_RATIO}x for anything over {size_text(RATIO_FLOOR)} (a zip bomb?)",
                               "save the model again")


def check_zip(path: Path, archive) -> None:
    """Every member of an open zipfile.ZipFile, from its declared sizes, before any is read."""
    total = 0
    for info in archive.infolist():
        check_ratio(path, f"zip member '{info.filename}'", info.file_size, info.compress_size)
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise ModelTooLargeError(path, f"its zip members come to {total:,} bytes uncompressed, over gfsub's limit of "
                                 f"{size_text(MAX_ARCHIVE_BYTES)}", SMALLER)


def inflate(path: Path, data: bytes, what: str = "the zlib stream") -> bytes:
    """zlib.decompress, its output bounded as a zip member's; raises zlib.error for damaged or truncated data."""
    stream, out, size = zlib.decompressobj(), [], 0
    for start in range(0, len(data), CHUNK):
        piece = data[start:start + CHUNK]
        while piece and not stream.eof:
            chunk = stream.decompress(piece, CHUNK * MAX_RATIO)
            out.append(chunk)
            size += len(chunk)
            check_ratio(path, what, size, start + CHUNK)
            piece = stream.unconsumed_tail
        if stream.eof:
            break
    if not stream.eof:
        raise zlib.error("Error -5 while decompressing data: incomplete or truncated stream")
    return b"".join(out)


def loads(path: Path, text, what: str, error: type = CorruptFileError, fix: str = "export the model again"):
    """json.loads, and no nesting deeper than MAX_JSON_DEPTH (json raises RecursionError at about 1000: one line
    too). json.JSONDecodeError is left to the caller, who knows what the document should have been."""
    too_deep = error(path, f"{what} nests deeper than gfsub's limit of {MAX_JSON_DEPTH} levels", fix)
    try:
        document = json.loads(text)
    except RecursionError:
        raise too_deep from None
    if json_depth(document) > MAX_JSON_DEPTH:
        raise too_deep
    return document


def json_depth(document) -> int:
    """How deep lists and dicts nest in a parsed JSON document, counted up to MAX_JSON_DEPTH + 1 (without
    recursion)."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


def one_line(exc: BaseException) -> str:
    """An exception as the short phrase an error line carries: `Type: first line`."""
    if isinstance(exc, GfsubError):
        return exc.problem
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
