"""The verification's own observation pipeline: model inputs from kaggle observations through gfootball's functions.

main.py draws its representations itself (agent_runtime/); the reference takes gfootball's own
(`observation_preprocessing.generate_smm`, `Simple115StateWrapper.convert_observation`) and its own buffers, written
apart from main.py's, with FrameStack's deque. So a mistake in main.py's pipeline makes the verification fail.
"""

import collections

import numpy as np


def gfootball_representation(name: str):
    """raw observation -> float32 array, by gfootball's own code."""
    from gfootball.env import observation_preprocessing, wrappers

    if name == "smm":
        return lambda raw: observation_preprocessing.generate_smm([raw])[0].astype(np.float32)
    fixed = name == "simple115v2"
    return lambda raw: wrappers.Simple115StateWrapper.convert_observation([raw], fixed_positions=fixed)[0]


class ReferenceInput:
    """One model input: gfootball's representation, / scale, the difference with the previous frame, FrameStack."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.represent = gfootball_representation(spec["representation"])
        self.reset()

    def reset(self) -> None:
        self.previous = None
        self.stack = collections.deque([], maxlen=int(self.spec.get("stack", 1)))

    def push(self, raw: dict) -> np.ndarray:
        frame = np.asarray(self.represent(raw), dtype=np.float32)
        if self.spec.get("scale"):
            frame = frame / np.float32(self.spec["scale"])
        if self.spec.get("diff"):
            previous = np.zeros_like(frame) if self.previous is None else self.previous
            self.previous, frame = frame, frame - previous
        if not self.stack:  # a new match: FrameStack's reset fills the deque
            fill = frame if self.spec.get("fill", "first") == "first" else np.zeros_like(frame)
            self.stack.extend([fill] * self.stack.maxlen)
            if self.spec.get("fill", "first") != "first":
                self.stack.append(frame)
        else:
            self.stack.append(frame)
        if self.stack.maxlen == 1:
            return self.stack[-1]
        if self.spec.get("stack_axis") == "new":
            return np.stack(list(self.stack), axis=-1)
        return np.concatenate(list(self.stack), axis=-1)


def match_starts(raw_observations: list):
    """(step, raw observation, whether a match begins there): at the first observation, and wherever steps_left
    does not go down (main.py sees a new match the same way, agent_runtime/observation.py)."""
    steps_left = None
    for step, raw in enumerate(raw_observations):
        now = raw.get("steps_left")
        yield step, raw, step == 0 or (now is not None and steps_left is not None and now >= steps_left)
        steps_left = now if now is not None else steps_left


def reference_inputs(specs: list, raw_observations: list, encoder=None) -> list:
    """[array (N, *input shape)] per model input, for consecutive raw observations of one player; every buffer
    restarts when a new match begins. `encoder`: (encode, reset or None)."""
    inputs = [ReferenceInput(spec) for spec in specs]
    rows = []
    for _, raw, new_match in match_starts(raw_observations):
        if new_match:
            for pipeline in inputs:
                pipeline.reset()
            if encoder is not None and encoder[1] is not None:
                encoder[1]()
        if encoder is not None:
            encoded = encoder[0](raw)
            rows.append([np.asarray(x, dtype=np.float32) for x in (encoded if isinstance(encoded, (list, tuple))
                                                                   else [encoded])])
        else:
            rows.append([pipeline.push(raw) for pipeline in inputs])
    return [np.stack([row[i] for row in rows]) for i in range(len(rows[0]))] if rows else []
