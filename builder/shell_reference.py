"""The verification's own agent shell: consecutive raw observations -> the model's outputs, values and actions.

Written apart from main.py's shell (agent_runtime/shell.py): it takes the model as a function (onnxruntime for the
reference, gfsub's numpy graph for the rebuild), the user's encoder from a fresh run of its file, and gfsub's own
reference pipeline for observation specs. At a new match (the first observation, or `steps_left` not going down)
the encoder is reset and every state input is zeros; after each step a state input takes its paired output.
"""

from dataclasses import dataclass

import numpy as np

from builder.encoder import Encoder
from builder.encoder_process import encoder_functions
from builder.model_graph import Graph
from builder.reference_inputs import ReferenceInput, match_starts
from builder.shell import ShellPlan
from common.errors import EncoderError
from common.kaggle import N_ACTIONS

TOLERANCE = 1e-4  # every float output within 1e-4 x max(1, |reference|), elementwise


@dataclass
class ShellRun:
    """One pass of the shell over a sequence of observations."""

    values: np.ndarray  # (N, 19): the recorded output's first 19 values per step
    actions: np.ndarray  # (N,): decide()'s, else the argmax of the values
    outputs: list  # per step: {output name: array}
    feeds: list  # per step: the model's inputs, in its order (batch axis first)


def run_shell(model, graph: Graph, plan: ShellPlan, specs: list, encoder: "Encoder | None",
              raw_observations: list, sandboxed: bool = True) -> ShellRun:
    """Every step of the shell; `model`: [inputs in the model's order, batch axis first] -> {output name: array}.
    The encoder runs afresh, in a sandbox unless told not (encoder_process.py)."""
    if encoder is None:
        return _run_shell(model, graph, plan, specs, None, (None, None, None), raw_observations)
    with encoder_functions(encoder, sandboxed) as functions:
        return _run_shell(model, graph, plan, specs, encoder, functions, raw_observations)


def _run_shell(model, graph: Graph, plan: ShellPlan, specs: list, encoder: "Encoder | None", functions: tuple,
               raw_observations: list) -> ShellRun:
    encode, reset, decide = functions
    named = graph.named_inputs()
    fed = plan.fed_inputs(graph)
    shapes = dict(zip(named, graph.input_shapes, strict=True))
    dtypes = {node["name"]: node.get("dtype", "float32") for node in graph.nodes if node["op"] == "input"}
    zeros = {name: np.zeros((1, *shapes[name]), dtype=dtypes.get(named[name], "float32")) for name, _ in plan.state}
    pipelines = [ReferenceInput(spec) for spec in specs]
    values, actions, outputs_seen, feeds, state = [], [], [], [], {}
    for step, raw, new_match in match_starts(raw_observations):
        if new_match:
            for pipeline in pipelines:
                pipeline.reset()
            if reset is not None:
                _call(encoder, "reset()", step, reset)
            state = dict(zeros)
        given = _encoded(encoder, encode, raw, fed, shapes, step, plan) if encode else [p.push(raw) for p in pipelines]
        feed = dict(zip(fed, (x[None] for x in given), strict=True))
        feed.update(state)
        feeds.append([feed[name] for name in named])
        outputs = model(feeds[-1])
        state = {name: outputs[output] for name, output in plan.state}
        row = np.asarray(outputs[plan.record], dtype=np.float64).reshape(-1)[:N_ACTIONS]
        action = _decided(encoder, decide, outputs, raw, step) if decide else int(np.argmax(row))
        values.append(row)
        actions.append(action)
        outputs_seen.append(outputs)
    return ShellRun(np.stack(values), np.asarray(actions), outputs_seen, feeds)


def _call(encoder: Encoder, what: str, step: int, function, *args):
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - the user's code: whatever it raises, one line
        raise EncoderError(encoder.path, f"{what} raised {type(exc).__name__}: {exc} at verify step {step + 1}",
                           f"make {what.split('(')[0]}() work on every raw observation") from None


def _encoded(encoder: Encoder, encode, raw: dict, fed: list, shapes: dict, step: int, plan: ShellPlan) -> list:
    """encode(obs) as the fed inputs' arrays, checked against their shapes."""
    encoded = _call(encoder, "encode(obs)", step, encode, raw)
    if isinstance(encoded, dict):
        carried = [name for name, _ in plan.state if name in encoded]
        if carried:
            raise EncoderError(encoder.path, f"encode(obs) returns {', '.join(carried)}, which gfsub carries as "
                               f"state ({plan.describe_state()})", "pass --state none if your encoder carries the "
                               "state itself, or leave the state inputs out of encode()")
        missing = [name for name in fed if name not in encoded]
        if missing:
            raise EncoderError(encoder.path, f"encode(obs) returned a dict without {', '.join(missing)}",
                               f"key the model's inputs by name: {', '.join(fed)}")
        encoded = [encoded[name] for name in fed]
    encoded = list(encoded) if isinstance(encoded, (list, tuple)) else [encoded]
    arrays = [np.asarray(x) if np.asarray(x).dtype.kind in "biu" else np.asarray(x, dtype=np.float32)
              for x in encoded]
    got = [tuple(x.shape) for x in arrays]
    want = [tuple(shapes[name]) for name in fed]
    if got != want:
        hint = (" (the state inputs are gfsub's to fill: pass --state none if your encoder carries the state itself)"
                if plan.state and len(got) == len(shapes) else "")
        raise EncoderError(encoder.path, f"encode(obs) gave {got} at verify step {step + 1}; the model's inputs "
                           f"{', '.join(fed)} take {want}{hint}", "return one array per input, of those shapes")
    return arrays


def _decided(encoder: Encoder, decide, outputs: dict, raw: dict, step: int) -> int:
    action = _call(encoder, "decide(outputs, obs)", step, decide, dict(outputs), raw)
    if isinstance(action, (bool, np.bool_)) or not isinstance(action, (int, np.integer)) or \
            not 0 <= int(action) < N_ACTIONS:
        raise EncoderError(encoder.path, f"decide(outputs, obs) returned {action!r} at verify step {step + 1}",
                           f"return the action as an int in 0..{N_ACTIONS - 1}")
    return int(action)


def first_difference(reference: ShellRun, ours: ShellRun) -> "tuple[float, str, int]":
    """(max |difference| over every float output and step, where the first one beyond the tolerance is ("" when none
    is), and its step index). Integer and boolean outputs must be equal."""
    largest = 0.0
    for step, (theirs, mine) in enumerate(zip(reference.outputs, ours.outputs, strict=True)):
        for name, want in theirs.items():
            want, got = np.asarray(want), np.asarray(mine.get(name))
            if want.shape != got.shape:
                return float("inf"), f"step {step + 1}, output '{name}': shape {got.shape}, not {want.shape}", step
            if want.dtype.kind != "f":
                if not np.array_equal(want, got):
                    return float("inf"), f"step {step + 1}, output '{name}': values differ", step
                continue
            difference = np.abs(got.astype(np.float64) - want)
            largest = max(largest, float(np.nanmax(difference, initial=0.0)) if not np.isnan(difference).any()
                          else float("inf"))
            beyond = ~(difference <= TOLERANCE * np.maximum(1.0, np.abs(want)))  # NaN is beyond too
            if beyond.any():
                return largest, (f"step {step + 1}, output '{name}': |difference| {float(difference.max()):.2e} "
                                 f"at {int(beyond.sum())} of {want.size} values"), step
    if not np.array_equal(reference.actions, ours.actions):
        step = int(np.argmax(reference.actions != ours.actions))
        return largest, f"step {step + 1}: action {ours.actions[step]}, not {reference.actions[step]}", step
    return largest, "", -1
