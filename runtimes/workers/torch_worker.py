"""Load a torch.export file (.pt2) with this interpreter's torch, for the builder, inside its sandbox: loading such a
file may run what it carries (pickled constants, custom ops), so it never happens in gfsub's own process.

    python -I torch_worker.py SPEC_JSON      (gfsub's own interpreter, with torch; no gfsub needed)

SPEC: {"model": the .pt2, "onnx": where to write its ONNX export, "opset": N}: export, print {"torch": version}.
      {"model": the .pt2, "serve": true}: print {"torch": version} once loaded, then run one step per line of stdin,
      as source_worker.serve does: a line names an .npz of the inputs (arr_0, ...), the outputs go to that path +
      ".out.npz" (arr_0, ... in the program's output order) and "ok" is printed; an empty line ends.
A failure prints {"error": "load" | "export" | "run", "message": its first line} (the message on stderr too)
and exits 1.
"""

import json
import sys

import numpy as np


def fail(stage, exc):
    lines = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {lines[0][:200] if lines else ''}"
    print(json.dumps({"error": stage, "message": message}), flush=True)
    sys.stderr.write(message + "\n")  # the last error line, which the builder's one-line failure quotes
    sys.exit(1)


def export(torch, program, spec):
    try:
        torch.onnx.export(program, (), spec["onnx"], dynamo=True, opset_version=spec["opset"], external_data=False,
                          verbose=False)
    except Exception as exc:  # noqa: BLE001 - the exporter's own error types vary by version
        fail("export", exc)
    print(json.dumps({"torch": torch.__version__}), flush=True)


def serve(torch, program):
    module = program.module()
    print(json.dumps({"torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        path = line.strip()
        if not path:
            break
        with np.load(path) as archive:
            inputs = [torch.from_numpy(np.ascontiguousarray(archive[f"arr_{i}"]))
                      for i in range(len(archive.files))]
        try:
            with torch.inference_mode():
                values = module(*inputs)
        except Exception as exc:  # noqa: BLE001 - whatever the program raises, one line
            fail("run", exc)
        values = values if isinstance(values, (list, tuple)) else [values]
        np.savez(path + ".out.npz", *[value.detach().numpy() for value in values])
        print("ok", flush=True)


def main():
    spec = json.loads(sys.argv[1])
    import torch

    try:
        program = torch.export.load(spec["model"])
    except Exception as exc:  # noqa: BLE001 - torch's loader raises many types for a damaged archive
        fail("load", exc)
    if spec.get("serve"):
        serve(torch, program)
    else:
        export(torch, program, spec)


if __name__ == "__main__":
    main()
