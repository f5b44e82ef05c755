"""Run the user's --encoder file on raw observations inside a target runtime, to tell whether it computes there what
it computes in the builder (a sort with ties, say, orders them by that runtime's numpy).

    python -I encoder_worker.py SPEC_JSON      (Python 3.7+, numpy; no gfsub needed)

SPEC: {"encoder": .py path, "observations": .json (a list of raw observations of one player, in order),
       "output": .npz}. reset() is called first and when a new match begins (steps_left does not go down); each
step's encode(obs) is stored as "STEP/KEY" (KEY: the input's name for a dict, else its index).

SPEC {"encoder": .py path, "serve": folder}: the builder's verification calls the encoder one call at a time, a JSON
line each on stdin: {"call": "reset"}, {"call": "encode", "obs": raw} (the arrays go to FOLDER/encoded.npz) or
{"call": "decide", "obs": raw} (the outputs read from FOLDER/outputs.npz); one JSON line answers each:
{"ok": true, "kind": "dict" | "list" | "array", "keys": [...]} / {"ok": true, "action": value} / {"ok": false,
"error": "KeyError: 'x'"}.
"""

import json
import sys

import numpy as np


def items(encoded):
    if isinstance(encoded, dict):
        return [(str(key), value) for key, value in encoded.items()]
    if isinstance(encoded, (list, tuple)):
        return [(str(index), value) for index, value in enumerate(encoded)]
    return [("0", encoded)]


def answer(namespace, folder, request):
    """One call of the encoder's, as serve() answers it."""
    call = request["call"]
    if call == "reset":
        namespace["reset"]()
        return {"ok": True}
    if call == "encode":
        encoded = namespace["encode"](request["obs"])
        kind = "dict" if isinstance(encoded, dict) else "list" if isinstance(encoded, (list, tuple)) else "array"
        pairs = items(encoded)
        np.savez(folder + "/encoded.npz", **{f"v{i}": np.asarray(v) for i, (_, v) in enumerate(pairs)})
        return {"ok": True, "kind": kind, "keys": [key for key, _ in pairs]}
    with np.load(folder + "/outputs.npz") as archive:
        outputs = {key: archive[key] for key in request["names"]}
    action = namespace["decide"](outputs, request["obs"])
    if isinstance(action, (bool, np.bool_)):
        return {"ok": True, "action": repr(action)}
    if isinstance(action, (int, np.integer)):
        return {"ok": True, "action": int(action)}
    return {"ok": True, "action": repr(action)}


def serve(namespace, folder):
    for line in sys.stdin:
        if not line.strip():
            break
        try:
            reply = answer(namespace, folder, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - the user's code: whatever it raises, one line back
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def main():
    spec = json.loads(sys.argv[1])
    namespace = {"__name__": "gfsub_encoder"}
    with open(spec["encoder"]) as handle:
        exec(compile(handle.read(), spec["encoder"], "exec"), namespace)
    if spec.get("serve"):
        serve(namespace, spec["serve"])
        return
    with open(spec["observations"]) as handle:
        observations = json.load(handle)
    reset, arrays, steps_left = namespace.get("reset"), {}, None
    for step, raw in enumerate(observations):
        now = raw.get("steps_left")
        if reset is not None and (step == 0 or (now is not None and steps_left is not None and now >= steps_left)):
            reset()
        steps_left = now if now is not None else steps_left
        for key, value in items(namespace["encode"](raw)):
            arrays[f"{step}/{key}"] = np.asarray(value)
    np.savez(spec["output"], **arrays)


if __name__ == "__main__":
    main()
