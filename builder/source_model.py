"""The verification reference: the user's model itself, run by the TensorFlow / Keras that can execute it.

A file that carries an executable model (SavedModel, .keras, full-model .h5) runs in the runtime of its era:
TensorFlow 2.3's files (Keras 2.4) in `kaggle-2020`, other Keras 2 files of TensorFlow 2.5 - 2.15 in `keras2`,
tf_keras files (Keras 2.16 - 2.21) in the tf_keras runtime of their minor version, Keras 3 files in `current`. A
weights-only file with --arch MODEL.json runs as Keras rebuilds it from that JSON (model_from_json) and gives it its
weights, in the runtime of the JSON's Keras. Weights-only files of the notebook family without a JSON cannot be
run; their reference is gfsub's Keras rebuild from the weights, and the summary says so. A .pt2 file's
ExportedProgram is run by torch in gfsub's own interpreter (runtimes/workers/torch_worker.py), sandboxed too.
"""

import json
import select
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.load import SourceWeights
from common.errors import SourceModelError
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, JobProcess, last_error
from runtimes.registry import Runtime, ensure_runtime, get_spec, load_specs

WORKER = WORKERS / "source_worker.py"
TORCH_WORKER = WORKERS / "torch_worker.py"
RUN_SECONDS = 600  # the source model's whole run on the verify match's inputs
STEP_SECONDS = 120  # its load, or one step of it served


@dataclass(frozen=True)
class SourceReference:
    """How to run the source model: which runtime, and as a SavedModel signature, a Keras file, a JSON or a .pt2."""

    path: Path
    kind: str  # savedmodel | keras | json | pt2
    runtime: str
    split_classes: tuple
    writer: str
    source_format: str = ""
    model_json: "dict | None" = None  # kind json: the --arch model JSON; `path` is then the weights file
    sandboxed: bool = True  # the model's own code (its Lambda layers) runs in a sandbox (runtimes/jobs.py)

    def describe(self) -> str:
        how = {"savedmodel": "its own serving signature", "keras": "the saved model loaded by Keras",
               "json": "the model rebuilt by Keras from its own JSON, given its weights by Keras",
               "pt2": "its ExportedProgram run by torch"}[self.kind]
        where = "sandboxed" if self.sandboxed else "UNSANDBOXED (--no-sandbox)"
        return f"the source model itself ({how}, in runtime {self.runtime}; written by {self.writer}), {where}"


def era_runtime(version: str) -> str:
    """The runtime whose TensorFlow / Keras can run a file that this Keras version wrote."""
    parts = version.split(".")
    major, minor = (int(parts[0]), int(parts[1])) if len(parts) > 1 and parts[1].isdigit() else (3, 0)
    specs = load_specs()
    if major == 2 and minor <= 4 and "kaggle-2020" in specs:  # TensorFlow 2.3 wrote Keras 2.4.0 files
        return "kaggle-2020"
    if major == 2 and minor >= 16 and f"tf-keras-2.{minor}" in specs:  # tf_keras: TF_USE_LEGACY_KERAS=1
        return f"tf-keras-2.{minor}"
    if major == 2 and "keras2" in specs:
        return "keras2"
    return "current"


def plan_reference(source: SourceWeights, model_json: "dict | None" = None,
                   sandboxed: bool = True) -> "SourceReference | None":
    """The reference for this source file, or None when it holds weights only and no JSON says what runs them."""
    if source.format == "pt2":
        return SourceReference(source.path, "pt2", "current", (), source.writer, "pt2", sandboxed=sandboxed)
    if model_json is not None:
        version = str(model_json.get("keras_version", "3"))
        return SourceReference(source.path, "json", era_runtime(version), _split_classes(model_json),
                               f"Keras {version} (its JSON)", source.format, model_json, sandboxed)
    if source.format not in ("savedmodel", "keras", "h5"):
        return None
    version = source.keras_version or (source.writer.split()[-1] if source.writer else "3.0")
    kind = "savedmodel" if source.format == "savedmodel" else "keras"
    return SourceReference(source.path, kind, era_runtime(version), source.split_classes,
                           source.writer or "Keras 3", source.format, sandboxed=sandboxed)


def _split_classes(model_json: dict) -> list:
    layers = model_json.get("config", {}).get("layers", [])
    return sorted({layer["class_name"] for layer in layers if "split" in layer["class_name"].split(">")[-1].lower()})


def source_values(reference: SourceReference, inputs: list, *, output_index: int = 0, output_name: str = "",
                  input_names: "list | None" = None, ordered: "list | None" = None) -> np.ndarray:
    """The source model's values (its chosen output) on these model inputs, computed in its runtime, in a sandbox:
    (N, units). `ordered`: a weights-only file's arrays in get_weights() order (kind json, when no Keras file holds
    them)."""
    runtime = ensure_runtime(get_spec(reference.runtime))
    with tempfile.TemporaryDirectory(prefix="gfsub-source-") as scratch:
        folder = JobFolder(Path(scratch), reference.sandboxed)
        inputs_host, inputs_inside = folder.io("inputs.npz")
        np.savez(inputs_host, *[np.asarray(x, dtype=np.float32) for x in inputs])
        values_host, values_inside = folder.io("values.npy")
        spec = {"kind": reference.kind, "split_classes": list(reference.split_classes), "inputs": inputs_inside,
                "output": values_inside, "output_index": output_index, "output_name": output_name,
                "input_names": input_names or []}
        spec.update(_model_files(reference, folder, ordered))
        job = JobProcess(runtime, WORKER, [json.dumps(spec)], folder)
        try:
            code = job.wait(RUN_SECONDS)
            if code != 0:
                raise _failure(reference, runtime, job, code, f"within {RUN_SECONDS} s")
        finally:
            job.stop()
        return np.load(values_host).astype(np.float64)


def _failure(reference: SourceReference, runtime: Runtime, job: JobProcess, code: "int | None",
             limit: str) -> SourceModelError:
    """Why the source worker failed, in one line: a limit it hit, the time it took, else its last error line."""
    where = f"runtime {reference.runtime} ({runtime.describe()}){', sandboxed' if reference.sandboxed else ''}"
    reason = job.verdict() or (f"it did not finish {limit}" if code is None else
                               last_error(job.error_lines()) or f"exit code {code}")
    return SourceModelError(reference.path, f"the source model does not run in {where}: {reason}",
                            "make sure the file is complete and its own code ends; if it does, report this as a "
                            "gfsub bug")


def _model_files(reference: SourceReference, folder: JobFolder, ordered: "list | None") -> dict:
    """The files the worker opens, named as Keras wants them (it picks its reader by the extension), as it sees
    them: the model's own files read-only, what gfsub writes in the scratch folder."""
    if reference.kind == "savedmodel":
        return {"model": folder.read(reference.path, "saved_model")}
    if reference.kind == "pt2":
        return {"model": folder.read(reference.path, "model.pt2")}
    if reference.kind == "keras":
        return {"model": folder.read(reference.path, "model.h5" if reference.source_format == "h5" else
                                     "model.keras")}
    json_host, json_inside = folder.io("model.json")
    json_host.write_text(json.dumps(reference.model_json))
    if reference.source_format in ("weights.h5",):
        keras3 = str(reference.model_json.get("keras_version", "3")).startswith("3")
        weights = folder.read(reference.path, "model.weights.h5" if keras3 else "model.h5")
    else:
        weights_host, weights = folder.io("weights.npz")
        np.savez(weights_host, *[np.asarray(a) for a in ordered or []])
    return {"model": json_inside, "weights": weights}


class SourceStepModel:
    """The source model, loaded once by its worker (sandboxed): a Keras model by the source worker in the runtime
    of its era, a .pt2 by the torch worker; run one step per call (the agent shell's reference for a .pt2, and for a
    Keras model with state or decide): inputs -> {output name: array}."""

    def __init__(self, reference: SourceReference, output_names: list, ordered: "list | None" = None) -> None:
        if reference.kind == "savedmodel":
            raise SourceModelError(reference.path, "decide() and --state run the model one step at a time, and a "
                                   "SavedModel's signature is not run that way by gfsub",
                                   "build from the model's .keras or .h5 file (model.save)")
        self.reference, self.output_names = reference, list(output_names)
        self.runtime = ensure_runtime(get_spec(reference.runtime))
        self.scratch = tempfile.TemporaryDirectory(prefix="gfsub-source-")
        self.folder = JobFolder(Path(self.scratch.name), reference.sandboxed)
        spec = {"kind": reference.kind, "split_classes": list(reference.split_classes), "serve": True}
        spec.update(_model_files(reference, self.folder, ordered))
        worker = TORCH_WORKER if reference.kind == "pt2" else WORKER
        self.job = JobProcess(self.runtime, worker, [json.dumps(spec)], self.folder, stdin=subprocess.PIPE)
        self._expect("{", "to load")  # the worker says what it loaded

    def _expect(self, start: str, doing: str) -> None:
        stdout = self.job.process.stdout
        ready, _, _ = select.select([stdout], [], [], STEP_SECONDS)
        line = stdout.readline() if ready else None
        if line is None or not line.startswith(start) or line.startswith('{"error"'):
            code = None if line is None else self.job.wait(5)
            error = _failure(self.reference, self.runtime, self.job, code, f"{doing} within {STEP_SECONDS} s")
            self.close()
            raise error

    def __call__(self, inputs: list) -> dict:
        host, inside = self.folder.io("step.npz")
        np.savez(host, *[np.asarray(x) for x in inputs])
        try:
            self.job.process.stdin.write(f"{inside}\n")
            self.job.process.stdin.flush()
        except BrokenPipeError:
            pass  # it died: _expect says why
        self._expect("ok", "to run one step")
        with np.load(f"{host}.out.npz") as archive:
            values = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        return dict(zip(self.output_names, values, strict=True))

    def close(self) -> None:
        self.job.end(30)
        self.scratch.cleanup()
