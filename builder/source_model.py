"""The verification reference: the user's model itself, run by the TensorFlow / Keras that can execute it.

A file that carries an executable model (SavedModel, .keras, full-model .h5) runs in the runtime of its era:
TensorFlow 2.3's files (Keras 2.4) in `kaggle-2020`, other Keras 2 files of TensorFlow 2.5 - 2.15 in `keras2`,
tf_keras files (Keras 2.16 - 2.21) in the tf_keras runtime of their minor version, Keras 3 files in `current`. A
weights-only file with --arch MODEL.json runs as Keras rebuilds it from that JSON (model_from_json) and gives it its
weights, in the runtime of the JSON's Keras. Weights-only files of the notebook family without a JSON cannot be
run; their reference is gfsub's Keras rebuild from the weights, and the summary says so.
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
    """How to run the source model: which runtime, and as a SavedModel signature, a Keras file or a JSON."""

    path: Path
    kind: str  # savedmodel | keras | json
    runtime: str
    split_classes: tuple
    writer: str
    source_format: str = ""
    model_json: "dict | None" = None  # kind json: the --arch model JSON; `path` is then the weights file

    def describe(self) -> str:
        how = {"savedmodel": "its own serving signature", "keras": "the saved model loaded by Keras",
               "json": "the model rebuilt by Keras from its own JSON, given its weights by Keras"}[self.kind]
        return f"the source model itself ({how}, in runtime {self.runtime}; written by {self.writer})"


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


def plan_reference(source: SourceWeights, model_json: "dict | None" = None) -> "SourceReference | None":
    """The reference for this source file, or None when it holds weights only and no JSON says what runs them."""
    if model_json is not None:
        version = str(model_json.get("keras_version", "3"))
        return SourceReference(source.path, "json", era_runtime(version), _split_classes(model_json),
                               f"Keras {version} (its JSON)", source.format, model_json)
    if source.format not in ("savedmodel", "keras", "h5"):
        return None
    version = source.keras_version or (source.writer.split()[-1] if source.writer else "3.0")
    kind = "savedmodel" if source.format == "savedmodel" else "keras"
    return SourceReference(source.path, kind, era_runtime(version), source.split_classes,
                           source.writer or "Keras 3", source.format)


def _split_classes(model_json: dict) -> list:
    layers = model_json.get("config", {}).get("layers", [])
    return sorted({layer["class_name"] for layer in layers if "split" in layer["class_name"].split(">")[-1].lower()})


def source_values(reference: SourceReference, inputs: list, *, output_index: int = 0, output_name: str = "",
                  input_names: "list | None" = None, ordered: "list | None" = None) -> np.ndarray:
    """The source model's values (its chosen output) on these model inputs, computed in its runtime: (N, units).
    `ordered`: a weights-only file's arrays in get_weights() order (kind json, when no Keras file holds them)."""
    runtime = ensure_runtime(get_spec(reference.runtime))
    with tempfile.TemporaryDirectory(prefix="gfsub-source-") as folder:
        folder = Path(folder)
        np.savez(folder / "inputs.npz", *[np.asarray(x, dtype=np.float32) for x in inputs])
        spec = {"kind": reference.kind, "split_classes": list(reference.split_classes),
                "inputs": str(folder / "inputs.npz"), "output": str(folder / "values.npy"),
                "output_index": output_index, "output_name": output_name, "input_names": input_names or []}
        spec.update(_model_files(reference, folder, ordered))
        out = subprocess.run(worker_command(runtime.python, WORKER, json.dumps(spec)), capture_output=True, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **runtime.spec.environment})
        if out.returncode != 0:
            errors = [line.strip() for line in out.stderr.splitlines()
                      if re.match(r"\w[\w.]*(Error|Exception)\b", line)]
            reason = errors[-1] if errors else f"exit code {out.returncode}"
            raise SourceModelError(reference.path, f"the source model does not run in runtime {reference.runtime} "
                                   f"({runtime.describe()}): {reason}",
                                   "make sure the file is complete; if it is, report this as a gfsub bug")
        return np.load(folder / "values.npy").astype(np.float64)


def _model_files(reference: SourceReference, folder: Path, ordered: "list | None") -> dict:
    """The files the worker opens, named as Keras wants them (it picks its reader by the extension)."""
    if reference.kind == "savedmodel":
        return {"model": str(reference.path)}
    if reference.kind == "keras":
        model = folder / ("model.h5" if reference.source_format == "h5" else "model.keras")
        model.symlink_to(reference.path.resolve())
        return {"model": str(model)}
    (folder / "model.json").write_text(json.dumps(reference.model_json))
    if reference.source_format in ("weights.h5",):
        weights = folder / ("model.weights.h5" if str(reference.model_json.get("keras_version", "3")).startswith("3")
                            else "model.h5")
        weights.symlink_to(reference.path.resolve())
    else:
        weights = folder / "weights.npz"
        np.savez(weights, *[np.asarray(a) for a in ordered or []])
    return {"model": str(folder / "model.json"), "weights": str(weights)}


class KerasStepModel:
    """The source Keras model, loaded once by the source worker in the runtime of its era and run one step per call
    (the agent shell's reference for a model with state or decide): inputs -> {output name: array}."""

    def __init__(self, reference: SourceReference, output_names: list, ordered: "list | None" = None) -> None:
        if reference.kind == "savedmodel":
            raise SourceModelError(reference.path, "decide() and --state run the model one step at a time, and a "
                                   "SavedModel's signature is not run that way by gfsub",
                                   "build from the model's .keras or .h5 file (model.save)")
        self.reference, self.output_names = reference, list(output_names)
        runtime = ensure_runtime(get_spec(reference.runtime))
        self.scratch = tempfile.TemporaryDirectory(prefix="gfsub-source-")
        self.folder = Path(self.scratch.name)
        spec = {"kind": reference.kind, "split_classes": list(reference.split_classes), "serve": True}
        spec.update(_model_files(reference, self.folder, ordered))
        self.log = (self.folder / "stderr.txt").open("w")
        self.process = subprocess.Popen(worker_command(runtime.python, WORKER, json.dumps(spec)), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True,
                                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **runtime.spec.environment})
        self.runtime_name = f"{reference.runtime} ({runtime.describe()})"
        self._expect("{")  # the worker says what it loaded

    def _expect(self, start: str) -> str:
        line = self.process.stdout.readline()
        if not line.startswith(start):
            self.close()
            errors = [text.strip() for text in (self.folder / "stderr.txt").read_text().splitlines()
                      if re.match(r"\w[\w.]*(Error|Exception)\b", text.strip())] if self.folder.exists() else []
            reason = errors[-1] if errors else f"exit code {self.process.poll()}"
            raise SourceModelError(self.reference.path, f"the source model does not run in runtime "
                                   f"{self.runtime_name}: {reason}",
                                   "make sure the file is complete; if it is, report this as a gfsub bug")
        return line

    def __call__(self, inputs: list) -> dict:
        path = self.folder / "step.npz"
        np.savez(path, *[np.asarray(x) for x in inputs])
        self.process.stdin.write(f"{path}\n")
        self.process.stdin.flush()
        self._expect("ok")
        with np.load(f"{path}.out.npz") as archive:
            values = [archive[f"arr_{i}"] for i in range(len(archive.files))]
        return dict(zip(self.output_names, values, strict=True))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        self.scratch.cleanup()
