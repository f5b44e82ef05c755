"""Run the user's --encoder file on raw observations inside a target runtime, to tell whether it computes there what
it computes in the builder (a sort with ties, say, orders them by that runtime's numpy).

    python -I encoder_worker.py SPEC_JSON      (Python 3.7+, numpy; no gfsub needed)

SPEC: {"encoder": .py path, "observations": .json (a list of raw observations of one player, in order),
       "output": .npz}. reset() is called first and when a new match begins (steps_left does not go down); each
step's encode(obs) is stored as "STEP/KEY" (KEY: the input's name for a dict, else its index).
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


def main():
    spec = json.loads(sys.argv[1])
    namespace = {"__name__": "gfsub_encoder"}
    with open(spec["encoder"]) as handle:
        exec(compile(handle.read(), spec["encoder"], "exec"), namespace)
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
