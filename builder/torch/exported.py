"""A .pt2 file: loaded and exported to ONNX by torch in a sandbox (runtimes/workers/torch_worker.py), then read as
ONNX here. Loading a .pt2 may run what the file carries, so torch never loads it in gfsub's own process; its
verification reference is the same worker serving the ExportedProgram (builder/source_model.py, kind "pt2")."""

import importlib.metadata
import importlib.util
import json
import tempfile
import zipfile
from pathlib import Path

from builder.contents import Contents
from builder.limits import ZIP_ERRORS, check_zip, one_line
from builder.onnx.reader import read_onnx
from common.errors import CorruptFileError, MissingPackageError, SandboxUnavailableError, SourceModelError
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, JobProcess
from runtimes.registry import current_runtime
from runtimes.sandbox import unavailable_reason

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
    if sandboxed and unavailable_reason():
        raise SandboxUnavailableError(path, f"a .pt2 file is loaded in a sandbox, and none can be made here: "
                                      f"{unavailable_reason()}", "install it, or pass --no-sandbox to load the file "
                                      "with your rights")
    with tempfile.TemporaryDirectory(prefix="gfsub-pt2-") as scratch:
        folder = JobFolder(Path(scratch), sandboxed)
        onnx_host, onnx_inside = folder.io(f"{path.stem}.onnx")
        spec = {"model": folder.read(path, "model.pt2"), "onnx": onnx_inside, "opset": OPSET}
        job = JobProcess(current_runtime(), WORKER, [json.dumps(spec)], folder)
        try:
            code = job.wait(EXPORT_SECONDS)
            answer = _answer(job.process.stdout.read() if code is not None else "")
            failure = _failure(path, version, job, code, answer) if code != 0 or not onnx_host.is_file() else None
        finally:
            job.stop()
        if failure is not None:
            raise failure
        model = read_onnx(onnx_host)
    return Contents(graph=model.graph, named=model.named,
                    writer=f"torch {answer.get('torch', version)} (torch.export; ONNX opset {OPSET} by gfsub)")


def _answer(stdout: str) -> dict:
    """The worker's last JSON line ({} when there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return {}
    return {}


def _failure(path: Path, version: str, job: JobProcess, code: "int | None", answer: dict):
    """Why the worker did not export the file, in one line: it cannot be loaded (a damaged file), torch cannot
    export it, or it hit a limit of the sandbox."""
    if answer.get("error") == "load":
        return CorruptFileError(path, f"torch.export.load cannot read it ({answer['message']})", RESAVE)
    if answer.get("error") == "export":
        return SourceModelError(path, f"torch {version} cannot export it to ONNX ({answer['message']})",
                                "export it yourself with torch.onnx.export(..., dynamo=True) and build the .onnx")
    reason = job.verdict() or (f"it did not finish within {EXPORT_SECONDS} s" if code is None else
                               f"exit code {code}")
    return SourceModelError(path, f"torch {version} did not load it{' in its sandbox' if job.cgroups else ''}: "
                            f"{reason}", "make sure the file is complete and what it runs ends")
