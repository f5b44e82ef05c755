"""A .pt2 file: loaded and exported to ONNX by torch in a sandbox (runtimes/workers/torch_worker.py), then read as
ONNX here. Loading a .pt2 may run what the file carries, so torch never loads it in gfsub's own process; its
verification reference is the same worker serving the ExportedProgram (builder/source_model.py, kind "pt2")."""

import importlib.metadata
import importlib.util
import tempfile
import zipfile
from pathlib import Path

from builder.contents import Contents
from builder.limits import ZIP_ERRORS, check_zip, one_line
from builder.onnx.reader import read_onnx
from common.errors import CorruptFileError, MissingPackageError, SourceModelError
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, JobResult, require_sandbox, run_once
from runtimes.registry import current_runtime

OPSET = 18  # what gfsub asks torch's dynamo exporter for
WORKER = WORKERS / "torch_worker.py"
EXPORT_SECONDS = 300  # torch's import, the file's load and its export to ONNX (4-20 s here)
RESAVE = "save it again with torch.export.save"


def looks_like_pt2(names: list) -> bool:
    """A zip's member names are torch.export.save's: <archive>/models/model.json (or the older
    serialized_exported_program.json)."""
    return any(name.endswith(("models/model.json", "serialized_exported_program.json")) for name in names)


def torch_version(path: Path) -> str:
    """The installed torch's version (not imported here); MissingPackageError naming the extra without it."""
    if importlib.util.find_spec("torch") is None:
        raise MissingPackageError(path, "a .pt2 file is loaded by torch, which is not installed",
                                  "pip install 'gfsub[torch]'")
    return importlib.metadata.version("torch")


def load_pt2(path: Path, sandboxed: bool = True) -> Contents:
    """load.py's loader: the zip's sizes checked here (builder/limits.py); the ExportedProgram loaded and exported to
    ONNX (opset 18) by the torch worker, sandboxed unless told not; the ONNX file read like any other."""
    version = torch_version(path)
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(path, archive)
    except (*ZIP_ERRORS, ValueError) as exc:
        raise CorruptFileError(path, f"not a readable zip archive ({one_line(exc)})", RESAVE) from None
    if sandboxed:
        require_sandbox(path, "a .pt2 file is loaded by torch")
    with tempfile.TemporaryDirectory(prefix="gfsub-pt2-") as scratch:
        folder = JobFolder(Path(scratch), sandboxed)
        onnx_host, onnx_inside = folder.io(f"{path.stem}.onnx")
        spec = {"model": folder.read(path, "model.pt2"), "onnx": onnx_inside, "opset": OPSET}
        ran = run_once(current_runtime(), WORKER, spec, folder, EXPORT_SECONDS)
        if ran.code != 0 or not onnx_host.is_file():
            raise _failure(path, version, ran, sandboxed)
        model = read_onnx(onnx_host)
    return Contents(graph=model.graph, named=model.named,
                    writer=f"torch {ran.answer.get('torch', version)} (torch.export; ONNX opset {OPSET} by gfsub)")


def _failure(path: Path, version: str, ran: JobResult, sandboxed: bool):
    """Why the worker did not export the file, in one line: it cannot be loaded (a damaged file), torch cannot
    export it, or it hit a limit of the sandbox."""
    if ran.answer.get("error") == "load":
        return CorruptFileError(path, f"torch.export.load cannot read it ({ran.answer['message']})", RESAVE)
    if ran.answer.get("error") == "export":
        return SourceModelError(path, f"torch {version} cannot export it to ONNX ({ran.answer['message']})",
                                "export it yourself with torch.onnx.export(..., dynamo=True) and build the .onnx")
    reason = ran.verdict or (f"it did not finish within {EXPORT_SECONDS} s" if ran.code is None else
                             f"exit code {ran.code}")
    return SourceModelError(path, f"torch {version} did not load it{' in its sandbox' if sandboxed else ''}: "
                            f"{reason}", "make sure the file is complete and what it runs ends")
