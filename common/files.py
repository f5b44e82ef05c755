"""Files gfsub writes and identifies: all-or-nothing output, content hashes, and its folders in the cache."""

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.cache import cache_dir
from common.errors import CacheDirectoryError


@contextmanager
def staged_output(output: Path) -> Iterator[Path]:
    """A hidden temporary path beside `output`; it becomes `output` only if the block succeeds, so a failed or
    interrupted step leaves no partial file (the block may check the temporary before it is moved)."""
    temporary = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        yield temporary
        os.replace(temporary, output)
    finally:
        temporary.unlink(missing_ok=True)


def make_folders(folder: Path) -> list:
    """Create `folder` and its missing parents; -> the ones created, outermost first (raises OSError)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    for path in missing:
        path.mkdir()
    return missing


def remove_folders(created: list) -> None:
    """Undo make_folders (innermost first) after a failure, so that it leaves no trace."""
    for folder in reversed(created):
        try:
            folder.rmdir()
        except OSError:
            pass


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step (readers see the old file or the new one, never half of it)."""
    with staged_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


def sha256_of(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names and contents, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cache_folder(*parts: str) -> Path:
    """A folder under the cache, created if missing; a cache that is not a folder is the user's to fix."""
    root = cache_dir()
    folder = root.joinpath(*parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise CacheDirectoryError(root, "is not a folder (gfsub keeps its runtimes and logs there)",
                                  "point GFSUB_CACHE at a folder, or unset it") from exc
    except OSError as exc:
        raise CacheDirectoryError(root, f"cannot be written ({exc.strerror})",
                                  "point GFSUB_CACHE at a folder you can write") from exc
    return folder
