"""The verification reference: the user's saved model itself, run by a TensorFlow that can execute it.

A file that carries an executable model (SavedModel, .keras, full-model .h5) is run in the runtime of its era:
TensorFlow 2.3's files in `kaggle-2020`, other Keras 2 files in `keras2`, Keras 3 files in `current`. Weights-only
files cannot be run; their reference is gfsub's rebuild from the weights, and the summary says so.
"""

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.load import SourceWeights
from common.errors import SourceModelError
from runtimes.hosted import WORKERS, worker_command
from runtimes.registry import ensure_runtime, get_spec, load_specs

WORKER = WORKERS / "source_worker.py"


@dataclass(frozen=True)
class SourceReference:
    """How to run the source model: which runtime, and as a SavedModel signature or a Keras file."""

    path: Path
    kind: str  # savedmodel | keras
    runtime: str
    split_classes: tuple
    writer: str
    source_format: str = ""

    def describe(self) -> str:
        how = "its own serving signature" if self.kind == "savedmodel" else "the saved model loaded by Keras"
        return f"the source model itself ({how}, in runtime {self.runtime}; written by {self.writer})"


def _era_runtime(version: str) -> str:
    """The runtime whose TensorFlow / Keras can run a file that this version wrote."""
    parts = version.split(".")
    major, minor = (int(parts[0]), int(parts[1])) if len(parts) > 1 and parts[1].isdigit() else (3, 0)
    specs = load_specs()
    if major == 2 and minor <= 4 and "kaggle-2020" in specs:  # TensorFlow 2.3 wrote Keras 2.4.0 files
        return "kaggle-2020"
    if major == 2 and "keras2" in specs:
        return "keras2"
    return "current"


def plan_reference(source: SourceWeights) -> "SourceReference | None":
    """The reference for this source file, or None when it holds weights only."""
    if source.format not in ("savedmodel", "keras", "h5"):
        return None
    version = source.writer.split()[-1] if source.writer else "3.0"
    kind = "savedmodel" if source.format == "savedmodel" else "keras"
    return SourceReference(source.path, kind, _era_runtime(version), source.split_classes,
                           source.writer or "Keras 3", source.format)


def source_q_values(reference: SourceReference, inputs: np.ndarray) -> np.ndarray:
    """The source model's Q-values on these model inputs, computed in its runtime."""
    runtime = ensure_runtime(get_spec(reference.runtime))
    with tempfile.TemporaryDirectory(prefix="gfsub-source-") as folder:
        np.save(Path(folder) / "inputs.npy", np.asarray(inputs, dtype=np.float32))
        model = reference.path
        if reference.kind == "keras":  # Keras picks its reader by extension: name the file as what it is
            model = Path(folder) / ("model.h5" if reference.source_format == "h5" else "model.keras")
            model.symlink_to(reference.path.resolve())
        spec = {"model": str(model), "kind": reference.kind, "split_classes": list(reference.split_classes),
                "inputs": str(Path(folder) / "inputs.npy"), "output": str(Path(folder) / "q.npy")}
        out = subprocess.run(worker_command(runtime.python, WORKER, json.dumps(spec)), capture_output=True, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        if out.returncode != 0:
            errors = [line.strip() for line in out.stderr.splitlines()
                      if re.match(r"\w[\w.]*(Error|Exception)\b", line)]
            reason = errors[-1] if errors else f"exit code {out.returncode}"
            raise SourceModelError(reference.path, f"the source model does not run in runtime {reference.runtime} "
                                   f"({runtime.describe()}): {reason}",
                                   "make sure the file is complete; if it is, report this as a gfsub bug")
        return np.load(Path(folder) / "q.npy").astype(np.float64)
