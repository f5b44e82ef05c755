"""The observation pipeline: each kaggle observation -> the model's inputs, one per model input, as in training.

Each input has a spec (plain data; `gfsub build --observation` writes it):
    {"representation": "smm" | "simple115" | "simple115v2", "scale": S or None, "diff": bool, "stack": K,
     "fill": "first" | "zeros", "stack_axis": "concat" | "new"}
The representation is gfootball's own (drawn here without gfootball), divided by S, differenced with the previous
processed frame (the first frame of a match against zeros) and the last K processed frames stacked, oldest first,
on the last axis or on a new last axis. At a new match every buffer restarts: the stack holds K copies of the first
frame ("first", gfootball's FrameStack) or zeros before it ("zeros"). A new match is seen from `steps_left`.
"""

import numpy as np

from agent_runtime.simple115 import simple115
from agent_runtime.smm import render_smm

REPRESENTATIONS = {
    "smm": lambda raw: render_smm(raw).astype(np.float32),
    "simple115": lambda raw: simple115(raw, fixed_positions=False),
    "simple115v2": lambda raw: simple115(raw, fixed_positions=True),
}


class InputPipeline:
    """One model input: representation -> / scale -> difference -> stack."""

    def __init__(self, spec, represent=None):
        self.spec = spec
        self.represent = represent or REPRESENTATIONS[spec["representation"]]
        self.reset()

    def reset(self):
        self.previous = None
        self.frames = []

    def push(self, raw_observation):
        frame = np.asarray(self.represent(raw_observation), dtype=np.float32)
        if self.spec.get("scale"):
            frame = frame / np.float32(self.spec["scale"])
        if self.spec.get("diff"):
            previous = self.previous if self.previous is not None else np.zeros_like(frame)
            self.previous, frame = frame, frame - previous
        depth = int(self.spec.get("stack", 1))
        if depth == 1:
            return frame
        if not self.frames:
            fill = frame if self.spec.get("fill", "first") == "first" else np.zeros_like(frame)
            self.frames = [fill] * (depth - 1)
        self.frames = (self.frames + [frame])[-depth:]
        if self.spec.get("stack_axis") == "new":
            return np.stack(self.frames, axis=-1)
        return np.concatenate(self.frames, axis=-1)


class ObservationPipeline:
    """Kaggle observation -> [model input, ...] (no batch axis), every buffer restarting at a new match.

    `encoder`: the user's own feature code instead of specs, as (encode, reset or None, ...): encode(raw) returns one
    array, a list of them in the model's input order, or a dict keyed by input name (`input_names` orders it).
    `new_match` is True from a reset until the caller clears it."""

    def __init__(self, specs, encoder=None, input_names=None):
        self.inputs = [InputPipeline(spec) for spec in specs]
        self.encoder = encoder
        self.input_names = list(input_names or [])
        self._steps_left = None
        self.reset()

    def reset(self):
        for pipeline in self.inputs:
            pipeline.reset()
        if self.encoder is not None and self.encoder[1] is not None:
            self.encoder[1]()
        self.new_match = True

    def __call__(self, kaggle_observation):
        raw = raw_player_observation(kaggle_observation)
        steps_left = raw.get("steps_left")
        if steps_left is not None:
            if self._steps_left is not None and steps_left >= self._steps_left:
                self.reset()
            self._steps_left = steps_left
        if self.encoder is None:
            return [pipeline.push(raw) for pipeline in self.inputs]
        encoded = self.encoder[0](raw)
        if isinstance(encoded, dict):
            missing = [name for name in self.input_names if name not in encoded]
            if missing:
                raise KeyError(f"encode(obs) returned no input {', '.join(missing)}")
            encoded = [encoded[name] for name in self.input_names]
        encoded = list(encoded) if isinstance(encoded, (list, tuple)) else [encoded]
        return [model_input(x) for x in encoded]


def model_input(value):
    """An encoder's value as an array: float32, except integers and booleans (embedding indices, masks)."""
    array = np.asarray(value)
    return array if array.dtype.kind in "biu" else array.astype(np.float32)


def raw_player_observation(kaggle_observation):
    """The controlled player's raw dict from a kaggle-environments football observation."""
    return kaggle_observation["players_raw"][0]
