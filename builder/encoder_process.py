"""The user's encoder for the verification, run in a sandbox (runtimes/workers/encoder_worker.py, one call at a
time), or, with --no-sandbox, in this process: `encoder_functions(encoder, sandboxed)` gives (encode, reset or None,
decide or None) either way, each a fresh run of the file.

main.py embeds the encoder verbatim; the file may come from someone else, and what it does when called (write to
the home folder, open a connection, start a process) must stay inside the sandbox.
"""

import contextlib
import json
import select
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from builder.encoder import Encoder
from common.errors import EncoderError
from runtimes.hosted import WORKERS
from runtimes.jobs import JobFolder, JobProcess
from runtimes.registry import ensure_runtime, get_spec

WORKER = WORKERS / "encoder_worker.py"
CALL_SECONDS = 60  # one call of encode, decide or reset


class EncoderProcess:
    """The encoder file loaded in the sandboxed worker of the builder's own runtime; its functions as proxies."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.scratch = tempfile.TemporaryDirectory(prefix="gfsub-encoder-")
        self.folder = JobFolder(Path(self.scratch.name))
        _, inside = self.folder.io("")
        spec = {"encoder": self.folder.read(encoder.path, "encoder.py"), "serve": inside.rstrip("/")}
        self.job = JobProcess(ensure_runtime(get_spec("current")), WORKER, [json.dumps(spec)], self.folder,
                              stdin=subprocess.PIPE)

    def _call(self, what: str, request: dict) -> dict:
        process = self.job.process
        try:
            process.stdin.write(json.dumps(request, default=_plain) + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
        ready, _, _ = select.select([process.stdout], [], [], CALL_SECONDS)
        line = process.stdout.readline() if ready else ""
        if not line:
            reason = self.job.verdict() or (f"did not return within {CALL_SECONDS} s" if not ready else
                                            "ended its process")
            raise EncoderError(self.encoder.path, f"{what} {reason} (in the sandbox)",
                               f"make {what.split('(')[0]}() return, within the memory of Kaggle's agent")
        reply = json.loads(line)
        if not reply["ok"]:  # what the user's code raised, by its own name
            name, _, message = reply["error"].partition(": ")
            raise type(name if name.isidentifier() else "Error", (Exception,), {})(message)
        return reply

    def encode(self, raw: dict):
        reply = self._call("encode(obs)", {"call": "encode", "obs": raw})
        with np.load(self.folder.io("encoded.npz")[0]) as archive:
            values = [archive[f"v{i}"] for i in range(len(reply["keys"]))]
        if reply["kind"] == "dict":
            return dict(zip(reply["keys"], values, strict=True))
        return values if reply["kind"] == "list" else values[0]

    def reset(self) -> None:
        self._call("reset()", {"call": "reset"})

    def decide(self, outputs: dict, raw: dict):
        np.savez(self.folder.io("outputs.npz")[0], **{name: np.asarray(value) for name, value in outputs.items()})
        return self._call("decide(outputs, obs)", {"call": "decide", "names": list(outputs), "obs": raw})["action"]

    def close(self) -> None:
        self.job.end(10)
        self.scratch.cleanup()


def _plain(value):
    """numpy values inside a raw observation, as JSON."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


@contextlib.contextmanager
def encoder_functions(encoder: Encoder, sandboxed: bool = True):
    """(encode, reset or None, decide or None) of a fresh run of the encoder file, sandboxed unless told not."""
    if not sandboxed:
        yield encoder.functions()
        return
    process = EncoderProcess(encoder)
    try:
        yield (process.encode, process.reset if encoder.has_reset else None,
               process.decide if encoder.has_decide else None)
    finally:
        process.close()
