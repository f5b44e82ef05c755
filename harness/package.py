"""Last step: pack a checked main.py into submission.tar.gz, the way Kaggle unpacks it.

gzip tar, main.py at the archive root, reproducible (sorted entries, mtime 0, owner 0, fixed gzip header),
refused unless `gfsub check` passed this exact main.py (or --force), size-checked before anything is
written, written atomically, then re-opened and loaded with kaggle-environments' own loader.
"""

import gzip
import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.errors import (
    ArchiveLoadError,
    CheckCoverageError,
    InternalError,
    MissingFileError,
    OutputPathError,
    PackageContentError,
)
from common.files import sha256_of, staged_output
from common.kaggle import SUBMISSION_MAX_BYTES, load_like_kaggle
from common.options import validate_range
from harness.check import CheckReport, release_command


@dataclass
class PackageResult:
    output: Path
    size: int
    entries: list
    report: Path | None
    forced: bool


def pass_reports(main_py: Path, runs_dir: Path) -> list:
    """[(path, CheckReport | None)] under runs_dir whose verdict is PASS for this exact main.py (by sha256); None
    for a report this gfsub cannot read back (written by another version)."""
    digest = sha256_of(main_py)
    found = []
    for path in sorted(runs_dir.glob("**/report.json")) if runs_dir.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict) or data.get("verdict") != "PASS" or data.get("main_py_sha256") != digest:
            continue
        try:
            found.append((path, CheckReport.from_dict(data)))
        except (KeyError, TypeError, AttributeError):
            found.append((path, None))
    return found


def release_grade_report(main_py: Path, runs_dir: Path) -> Path:
    """The PASS report whose coverage is release grade (both sides, full-length matches against the engine AI,
    at least 2 matches); otherwise the error says what the best check lacked and the command that covers it."""
    found = pass_reports(main_py, runs_dir)
    for path, report in found:
        if report is not None and report.coverage.release_grade:
            return path
    command = release_command(str(main_py))
    if not found:
        raise CheckCoverageError(main_py, f"no PASS report for this main.py under {runs_dir}/",
                                 f"run `{command}` first (or --force to package it unchecked)")
    path, report = found[-1]
    lacks = report.coverage.lacks if report is not None else ["a report this gfsub can read (made by another "
                                                              "gfsub version)"]
    command = report.coverage.release_command if report is not None else command
    raise CheckCoverageError(main_py, f"the PASS report {path} is not release grade: it lacks {'; '.join(lacks)}",
                             f"run `{command}` (or --force to package it anyway)")


def archive_bytes(files: list) -> bytes:
    """Reproducible .tar.gz of [(name in archive, path on disk)]: same inputs, same bytes."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, path in sorted(files):
            info = tarfile.TarInfo(name)
            data = Path(path).read_bytes()
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0, compresslevel=9) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def verify_archive_loads(archive: Path, source: "Path | None" = None) -> None:
    """Unpack like Kaggle and load main.py from its root with kaggle-environments' loader."""
    with tempfile.TemporaryDirectory(prefix="gfsub-unpacked-") as folder, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(folder, filter="data")
        main_py = Path(folder) / "main.py"
        if not main_py.is_file():
            raise InternalError(archive, "main.py is not at the archive root")
        try:
            compile(main_py.read_text(encoding="utf-8"), "main.py", "exec")
            agent = load_like_kaggle(main_py)
        except SyntaxError as exc:
            raise ArchiveLoadError(source or archive, f"does not load with kaggle-environments' loader (SyntaxError: "
                                   f"{exc.msg}, line {exc.lineno})", "fix it, or rebuild it with `gfsub build`, and "
                                   "check it again") from None
        except Exception as exc:  # noqa: BLE001 - whatever the loader raised, one line for the user
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            raise ArchiveLoadError(source or archive, f"does not load with kaggle-environments' loader ({lines[-1]})",
                                   "fix it, or rebuild it with `gfsub build`, and check it again") from None
        if agent.__name__ != "agent":
            raise ArchiveLoadError(archive, f"the last callable in main.py is '{agent.__name__}', not 'agent'",
                             "make `def agent` the last callable in main.py")


def package(main_py: "str | Path", output: "str | Path" = "submission.tar.gz", include: tuple = (),
            runs_dir: "str | Path" = "runs", force: bool = False, max_size: int = SUBMISSION_MAX_BYTES
            ) -> PackageResult:
    main_py, output, runs_dir = Path(main_py), Path(output), Path(runs_dir)
    if not main_py.is_file():
        raise MissingFileError(main_py, "no such main.py", "build one with `gfsub build`")
    validate_range("--max-size", max_size, 1)
    if not output.parent.is_dir():
        raise OutputPathError(output, f"folder {output.parent} does not exist", "create it or choose another -o")
    report = None
    try:
        report = release_grade_report(main_py, runs_dir)
    except CheckCoverageError:
        if not force:
            raise
    files = [("main.py", main_py)]
    for extra in include:
        extra = Path(extra)
        if not extra.is_file():
            raise MissingFileError(extra, "no such file to --include", "check the path")
        if extra.name == "main.py":
            raise PackageContentError(extra, "an included file may not be called main.py", "rename it")
        files.append((extra.name, extra))
    data = archive_bytes(files)
    if len(data) > max_size:
        raise PackageContentError(output, f"the archive would be {len(data) / 1e6:.1f} MB, over the "
                                  f"{max_size / 1e6:.1f} MB limit",
                                  "store weights as float16 (--weights-dtype float16) or drop --include files")
    with staged_output(output) as temporary:
        try:
            temporary.write_bytes(data)
        except OSError as exc:
            raise OutputPathError(output, f"cannot be written ({exc.strerror})",
                                  "choose an -o in a folder you can write") from None
        verify_archive_loads(temporary, main_py)
    return PackageResult(output, len(data), [name for name, _ in sorted(files)], report, forced=report is None)
