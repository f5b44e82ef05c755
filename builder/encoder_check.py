"""When main.py plays differently in a target runtime only: does the user's encoder compute other inputs there?

The encoder runs in the runtime's own interpreter (runtimes/workers/encoder_worker.py) and here, on the same raw
observations, from a fresh run of the file each; the first input that differs is named. main.py embeds the encoder
verbatim, so code whose result depends on the numpy or Python version (ties in a sort, a set's order) plays other
actions there, and that is the encoder's to fix.
"""

import json
import tempfile
from pathlib import Path

import numpy as np

from builder.encoder import Encoder
from builder.encoder_process import encoder_functions
from builder.reference_inputs import match_starts
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, JobProcess
from runtimes.registry import Runtime
from runtimes.workers.encoder_worker import items

WORKER = WORKERS / "encoder_worker.py"
RUN_SECONDS = 300  # the encoder over the verify match's observations
TOLERANCE = 1e-6  # numpy's own float rounding may differ across versions; a reordering does not stay below this


def encoder_difference(encoder: Encoder, runtime: Runtime, raw_observations: list, sandboxed: bool = True) -> str:
    """Where the encoder's inputs in `runtime` first differ from the builder's, as a phrase ("" where they agree, or
    where the encoder cannot be run there). Both runs are sandboxed unless told not."""
    with tempfile.TemporaryDirectory(prefix="gfsub-encoder-") as scratch:
        folder = JobFolder(Path(scratch), sandboxed)
        observations, observations_inside = folder.io("observations.json")
        observations.write_text(json.dumps(raw_observations))
        encoded, encoded_inside = folder.io("encoded.npz")
        spec = {"encoder": folder.read(encoder.path, "encoder.py"), "observations": observations_inside,
                "output": encoded_inside}
        job = JobProcess(runtime, WORKER, [json.dumps(spec)], folder)
        try:
            if job.wait(RUN_SECONDS) != 0:
                return ""
        finally:
            job.stop()
        with np.load(encoded) as archive:
            there = {key: archive[key] for key in archive.files}
    with encoder_functions(encoder, sandboxed) as functions:
        return _first_gap(functions, raw_observations, there)


def _first_gap(functions: tuple, raw_observations: list, there: dict) -> str:
    encode, reset, _ = functions
    for step, raw, new_match in match_starts(raw_observations):
        if reset is not None and new_match:
            reset()
        for key, value in items(encode(raw)):
            here, other = np.asarray(value, dtype=np.float64), there.get(f"{step}/{key}")
            if other is None or other.shape != here.shape:
                return f"step {step + 1}, input {key}: shape {None if other is None else other.shape} there"
            gap = np.abs(other.astype(np.float64) - here)
            if not np.all(gap <= TOLERANCE * np.maximum(1.0, np.abs(here))):
                index = int(np.argmax(gap.reshape(-1)))
                return (f"step {step + 1}, input {key}, value {index}: {other.reshape(-1)[index]:.6g} there, "
                        f"{here.reshape(-1)[index]:.6g} here")
    return ""
