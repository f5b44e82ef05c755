"""A .pt2 file: read (exported to ONNX by gfsub, then read as ONNX) and run by torch as the reference."""

import tempfile
import zipfile
from pathlib import Path

import numpy as np

from builder.contents import Contents
from builder.limits import ZIP_ERRORS, check_zip, one_line
from builder.onnx.reader import read_onnx
from common.errors import CorruptFileError, MissingPackageError, SourceModelError

OPSET = 18  # what gfsub asks torch's dynamo exporter for


def looks_like_pt2(names: list) -> bool:
    """A zip's member names are torch.export.save's: <archive>/models/model.json (or the older
    serialized_exported_program.json)."""
    return any(name.endswith(("models/model.json", "serialized_exported_program.json")) for name in names)


def _torch(path: Path):
    try:
        import torch
    except ImportError:
        raise MissingPackageError(path, "a .pt2 file is loaded by torch, which is not installed",
                                  "pip install 'gfsub[torch]'") from None
    return torch


def load_exported(path: Path):
    """The ExportedProgram in the file, its zip members' sizes checked first (builder/limits.py)."""
    torch = _torch(path)
    fix = "save it again with torch.export.save"
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(path, archive)
    except (*ZIP_ERRORS, ValueError) as exc:
        raise CorruptFileError(path, f"not a readable zip archive ({one_line(exc)})", fix) from None
    try:
        return torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001 - torch's loader raises many types for a damaged archive (AssertionError)
        raise CorruptFileError(path, f"torch.export.load cannot read it ({one_line(exc)})", fix) from None


def load_pt2(path: Path) -> Contents:
    """load.py's loader: the ExportedProgram exported to ONNX (opset 18) in a scratch folder, read as ONNX."""
    torch = _torch(path)
    program = load_exported(path)
    with tempfile.TemporaryDirectory(prefix="gfsub-pt2-") as folder:
        onnx_path = Path(folder) / f"{path.stem}.onnx"
        try:
            torch.onnx.export(program, (), str(onnx_path), dynamo=True, opset_version=OPSET, external_data=False,
                              verbose=False)
        except Exception as exc:  # noqa: BLE001 - the exporter's own error types vary by version
            raise SourceModelError(path, f"torch {torch.__version__} cannot export it to ONNX "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                                   "export it yourself with torch.onnx.export(..., dynamo=True) and build the .onnx"
                                   ) from None
        model = read_onnx(onnx_path)
    return Contents(graph=model.graph, named=model.named,
                    writer=f"torch {torch.__version__} (torch.export; ONNX opset {OPSET} by gfsub)")


class ExportedProgramModel:
    """inputs (in the model's input order, batch axis first) -> {output name: array}: the ExportedProgram's module,
    run by torch on the CPU; `output_names` are the ONNX export's, in the program's output order."""

    def __init__(self, path: Path, output_names: list) -> None:
        self.torch = _torch(path)
        self.path, self.output_names = Path(path), list(output_names)
        self.module = load_exported(path).module()

    def __call__(self, inputs: list) -> dict:
        torch = self.torch
        try:
            with torch.inference_mode():
                values = self.module(*[torch.from_numpy(np.ascontiguousarray(x)) for x in inputs])
        except Exception as exc:  # noqa: BLE001 - whatever torch raises, one line
            raise SourceModelError(self.path, f"torch cannot run the ExportedProgram on a verify observation "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})",
                                   "check that the encoder gives what the program was exported for") from None
        values = values if isinstance(values, (list, tuple)) else [values]
        return {name: value.detach().numpy() for name, value in zip(self.output_names, values, strict=True)}

    @property
    def version(self) -> str:
        return self.torch.__version__
