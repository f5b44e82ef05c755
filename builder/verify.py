"""Step 4 of the pipeline: prove the rendered main.py plays exactly like the source model, in every target runtime.

main.py is loaded the way Kaggle loads it (kaggle-environments' own `get_last_callable`), then plays a real match on
the gfootball engine against the engine's AI. Every observation it saw goes through the reference: gfootball's own
representations and the verification's own buffers (reference_inputs.py), into the source model itself, run by the
Keras of its era (source_model.py), or, for a weights-only file of the notebook family, gfsub's Keras rebuild. Then
the same observations are replayed through main.py inside each target runtime (its own interpreter and packages,
main.py loaded by the runtime's loader rules), and every action and value there is compared with the reference too.
"""

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent_runtime.graph import GraphModel
from builder.encoder import Encoder
from builder.encoder_check import encoder_difference
from builder.encoder_process import encoder_functions
from builder.model_graph import Graph
from builder.onnx.runner import OnnxRuntimeModel, parting_node
from builder.reference_inputs import reference_inputs
from builder.shell import ShellPlan
from builder.shell_reference import TOLERANCE, first_difference, run_shell
from builder.source_model import SourceReference, SourceStepModel, source_values
from common.errors import EncoderError
from common.kaggle import N_ACTIONS, agent_configuration, load_like_kaggle, make_football
from runtimes.hosted import AgentProcessError, RuntimeAgent, unpacked
from runtimes.registry import Runtime, ensure_runtime, get_spec
from runtimes.sandbox import Limits

# (min action agreement, max |dQ| relative to max(1, max |Q|)) per stored weight dtype; float16 rounding moves the
# values, so only agreement counts.
THRESHOLDS = {"float32": (1.0, 1e-4), "float16": (0.99, float("inf"))}


def value_gap(values: np.ndarray, reference: np.ndarray, elementwise: bool = False) -> float:
    """max |values - reference|; elementwise, each difference over max(1, |reference|) (the shell's tolerance, so
    that a masked -1e10 does not widen it for the other values). inf when the shapes differ."""
    if values.shape != reference.shape:
        return float("inf")
    difference = np.abs(values - reference)
    if elementwise:
        difference = difference / np.maximum(1.0, np.abs(reference))
    return float(np.max(difference)) if not np.isnan(difference).any() else float("inf")


def _passes(agreement: float, max_abs_dq: float, weights_dtype: str, scale: float = 1.0) -> bool:
    min_agreement, max_dq = THRESHOLDS[weights_dtype]
    return agreement >= min_agreement and max_abs_dq <= max_dq * max(1.0, scale)


@dataclass
class RuntimeParity:
    """main.py replayed on the verify match's observations inside one target runtime."""

    runtime: str
    versions: str
    steps: int = 0
    agreement: float = 0.0
    max_abs_dq: float = float("inf")
    step1: float = 0.0  # seconds: loading main.py plus its first step, measured inside the runtime
    p50: float = 0.0
    p99: float = 0.0
    error: str = ""  # the failure's last traceback line, if main.py failed there
    encoder_gap: str = ""  # where the user's encoder computes other inputs there than here (encoder_check.py)

    def passed(self, weights_dtype: str, scale: float = 1.0) -> bool:
        return not self.error and self.steps > 0 and _passes(self.agreement, self.max_abs_dq, weights_dtype, scale)


@dataclass
class ParityReport:
    steps: int
    agreement: float
    max_abs_dq: float
    status: str
    agent_errors: int
    load_failed: bool
    weights_dtype: str = "float32"
    runtimes: list = field(default_factory=list)  # RuntimeParity per target
    reference: str = "gfsub's Keras model, rebuilt from the weights (a weights-only file cannot be run itself)"
    rebuild_vs_source: float = 0.0  # max |dQ| between gfsub's rebuild and the source model itself, when it ran
    scale: float = 1.0  # max |Q| of the reference: the tolerance is 1e-4 x max(1, this)
    parted: str = ""  # where gfsub's numpy graph first differs from the source model ("": nowhere)
    elementwise: bool = False  # max_abs_dq is max |dQ| / max(1, |Q|) over the values (value_gap)
    stopped: str = ""  # main.py was stopped in its sandbox during the verify match (out of time, memory)

    @property
    def passed(self) -> bool:
        return (not self.load_failed and not self.parted and not self.stopped and self.agent_errors == 0
                and self.status == "DONE"
                and self.steps > 0
                and _passes(self.agreement, self.max_abs_dq, self.weights_dtype, self.scale)
                and all(row.passed(self.weights_dtype, self.scale) for row in self.runtimes))

    def failed_runtime(self) -> "RuntimeParity | None":
        return next((row for row in self.runtimes if not row.passed(self.weights_dtype, self.scale)), None)

    def summary(self) -> str:
        if self.load_failed:
            return "the model inside main.py failed to load"
        gap = "max |dQ|/max(1,|Q|)" if self.elementwise else "max |dQ|"
        return (f"{self.steps} engine steps, action agreement {self.agreement:.2%}, {gap} {self.max_abs_dq:.2e}, "
                f"match status {self.status}, agent errors {self.agent_errors}")


@dataclass
class Evaluation:
    """What the reference made of the verify match's observations."""

    values: np.ndarray  # (N, 19)
    actions: np.ndarray  # (N,)
    rebuild_vs_source: float = 0.0  # max |difference| between gfsub's numpy graph and the source model
    parted: str = ""  # where gfsub's numpy graph and the source first differ beyond the tolerance ("": nowhere)
    elementwise: bool = False  # main.py's values are compared elementwise (value_gap)


@dataclass
class ShellReference:
    """An ONNX model (or one with state or decide) in the builder's own shell: run by onnxruntime, and by gfsub's
    numpy graph, step by step with the state carried, every output compared."""

    graph: Graph
    plan: ShellPlan
    named: list
    specs: list
    encoder: "Encoder | None"
    path: Path
    format: str = "onnx"  # or "pt2", or a Keras file's (its reference is then `served`)
    sandboxed: bool = True  # the encoder (and the model's own code: a Keras Lambda, a .pt2) run in a sandbox
    served: "SourceReference | None" = None  # a .pt2 or Keras model: served one step at a time by its worker
    ordered: "list | None" = None  # a weights-only file's arrays, for a model rebuilt from its JSON

    @property
    def user_encoder(self) -> "Encoder | None":
        return self.encoder

    def evaluate(self, raw_observations: list) -> Evaluation:
        source = self.source_model()
        try:
            theirs = run_shell(source, self.graph, self.plan, self.specs, self.encoder, raw_observations,
                               self.sandboxed)
        finally:
            if hasattr(source, "close"):
                source.close()
        numpy_graph = GraphModel(self.plan.graph_data(self.graph), self.named)
        ours = run_shell(numpy_graph.outputs, self.graph, self.plan, self.specs, self.encoder, raw_observations,
                         self.sandboxed)
        largest, parted, step = first_difference(theirs, ours)
        if parted and self.format == "onnx":
            node = parting_node(self.path, self.graph.source_tensors, numpy_graph, theirs.feeds[step], TOLERANCE)
            parted += f", first at {node}" if node else ""
        return Evaluation(theirs.values, theirs.actions, largest, parted, elementwise=True)

    def source_model(self):
        """The model run by its own runtime: torch for a .pt2 (its ExportedProgram) and Keras, each served by its
        worker in a sandbox; onnxruntime for an .onnx."""
        if self.served is not None:
            return SourceStepModel(self.served, list(self.graph.named_outputs()), self.ordered)
        return OnnxRuntimeModel(self.path)

    def describe(self) -> str:
        if self.served is not None:
            return self.served.describe().replace("the source model itself (", "the source model itself, step by "
                                                  "step in the shell (", 1)
        import onnxruntime

        return f"the source model itself (run by onnxruntime {onnxruntime.__version__}, step by step in the shell)"


@dataclass
class Reference:
    """What main.py is compared with: the source model itself (`source`), or gfsub's Keras rebuild of the graph."""

    graph: dict
    named: list
    observation: list
    sandboxed: bool = True  # the --encoder file runs in a sandbox (encoder_process.py)
    source: "SourceReference | None" = None
    output_index: int = 0
    output_name: str = ""
    input_names: "list | None" = None
    ordered: "list | None" = None  # a weights-only file's arrays, for a model rebuilt from its JSON
    encoder_path: "Path | None" = None
    user_encoder: "Encoder | None" = None  # the --encoder file, for encoder_check when a runtime plays otherwise

    def evaluate(self, raw_observations: list) -> "Evaluation":
        """The reference's values and greedy actions on these consecutive observations of one player."""
        values, rebuild_vs_source = self.values(self.inputs(raw_observations))
        return Evaluation(values, values.argmax(axis=1), rebuild_vs_source)

    def values(self, inputs: list) -> tuple:
        """-> (the reference's values (N, units), max |dQ| between gfsub's numpy graph and the source, or 0)."""
        if self.source is None:
            return keras_rebuild_values(self.graph, self.named, inputs), 0.0
        ours = np.asarray(GraphModel(self.graph, self.named)(inputs), dtype=np.float64).reshape(len(inputs[0]), -1)
        theirs = source_values(self.source, inputs, output_index=self.output_index, output_name=self.output_name,
                               input_names=self.input_names, ordered=self.ordered)
        return theirs, float(np.max(np.abs(theirs - ours))) if theirs.shape == ours.shape else float("inf")

    def describe(self) -> str:
        return self.source.describe() if self.source is not None else ParityReport.reference

    def inputs(self, raw_observations: list) -> list:
        """The model's inputs by the reference pipeline, each checked against the graph's input shapes (an
        --encoder's output is the user's to fix)."""
        try:
            if self.user_encoder is None:
                inputs = reference_inputs(self.observation, raw_observations)
            else:
                with encoder_functions(self.user_encoder, self.sandboxed) as functions:
                    inputs = reference_inputs(self.observation, raw_observations, functions)
        except EncoderError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's encoder: whatever it raises, one line
            if self.user_encoder is None:
                raise
            raise EncoderError(self.encoder_path, f"encode(obs) raised {type(exc).__name__}: {exc} on a verify "
                               "observation", "make encode() work on every raw observation") from None
        got = [tuple(x.shape[1:]) for x in inputs]
        want = [tuple(shape) for shape in self.graph["input_shapes"]]
        if got != want:
            raise EncoderError(self.encoder_path, f"encode(obs) gave {got} on the first verify observation; the "
                               f"model's inputs take {want}", "return one array per model input, of those shapes")
        return inputs


def keras_rebuild_values(graph: dict, named: list, inputs: list) -> np.ndarray:
    """gfsub's Keras rebuild of the graph (agent_runtime/keras_model.py) on these inputs: (N, units)."""
    from agent_runtime.keras_model import build_keras_model

    model = build_keras_model(graph, named)
    out = model.predict_on_batch(inputs if len(inputs) > 1 else inputs[0])
    return np.asarray(out, dtype=np.float64).reshape(len(inputs[0]), -1)


def play_engine_match(agent, steps: int) -> list:
    """Play `steps` steps as the left team against the engine AI; -> kaggle-environments' steps list."""
    with tempfile.TemporaryDirectory(prefix="gfsub-verify-") as logdir:
        env = make_football(steps=steps, team_2=0, logdir=logdir)
        return env.run([agent, "do_nothing"])


def main_py_values(namespace: dict, observations: list) -> np.ndarray:
    """The values main.py's own pipeline and model give these kaggle observations, from a fresh pipeline."""
    policy = namespace["POLICY"]
    if "ShellPolicy" in namespace and isinstance(policy, namespace["ShellPolicy"]):
        fresh = namespace["ShellPolicy"](policy.model, namespace["OBSERVATION"], namespace.get("ENCODER"))
        rows = []
        for obs in observations:  # act(), as in a match: decide() may keep what the next step reads
            fresh.act(obs)
            rows.append(np.full(N_ACTIONS, np.nan) if fresh.last_values is None else fresh.last_values)
        return np.stack(rows).astype(np.float64)
    pipeline = namespace["ObservationPipeline"](namespace["OBSERVATION"], namespace.get("ENCODER"))
    model = namespace["POLICY"].model
    rows = [np.asarray(model([x[None] for x in pipeline(obs)]), dtype=np.float64).reshape(-1) for obs in observations]
    return np.stack(rows)


def action_agreement(played: list, expected: np.ndarray) -> float:
    """Share of steps whose played action ([a], as an agent returns it) is the reference's greedy action; a
    replay that stopped early agrees on none of the steps it did not play."""
    if len(played) != len(expected):
        return 0.0
    return float(np.mean([list(action) == [int(best)] for action, best in zip(played, expected, strict=True)]))


def replay_in_runtime(main_py: Path, runtime: Runtime, observations: list, reference: np.ndarray,
                      configuration: dict, actions: "np.ndarray | None" = None,
                      elementwise: bool = False, sandboxed: bool = False) -> RuntimeParity:
    """Replay the observations through main.py inside `runtime`; compare actions and values with the reference."""
    row = RuntimeParity(runtime=runtime.name, versions=runtime.describe())
    try:
        with RuntimeAgent(runtime, main_py, sandbox=Limits() if sandboxed else None) as agent:
            result = agent.replay(observations, configuration)
    except AgentProcessError as error:
        row.error = error.summary
        return row
    if any(q is None for q in result.q_values):
        row.error = "main.py did not report its values (is it a gfsub main.py?)"
        return row
    values = np.asarray(result.q_values, dtype=np.float64)
    later = np.asarray(result.seconds[1:]) if len(result.seconds) > 1 else np.zeros(1)
    row.steps = len(result.actions)
    row.agreement = action_agreement(result.actions, reference.argmax(axis=1) if actions is None else actions)
    row.max_abs_dq = value_gap(values, reference, elementwise)
    row.step1 = float(result.seconds[0])
    row.p50, row.p99 = float(np.percentile(later, 50)), float(np.percentile(later, 99))
    return row


@dataclass
class PlayedMatch:
    """main.py's verify match: what it saw and played, and its values on those observations from a fresh load."""

    observations: list
    played: list
    status: str
    agent_errors: int
    values: np.ndarray
    failure: str = ""  # why the hosted main.py was stopped (out of time, a limit), when it was
    no_values: bool = False  # no step gave values: its model failed to load (or its encoder fails every step)


def play_in_process(main_py: Path, steps: int) -> "PlayedMatch | None":
    """main.py loaded in this process (--no-sandbox), as kaggle-environments loads it; None if its model failed."""
    agent = load_like_kaggle(main_py)
    namespace = agent.__globals__
    policy = namespace.get("POLICY")
    if policy is None:
        return None
    episode = play_engine_match(agent, steps)
    observations = [step[0].observation for step in episode[:-1]]
    return PlayedMatch(observations, [step[0].action for step in episode[1:]], episode[-1][0].status,
                       int(policy.errors), main_py_values(namespace, observations))


def play_sandboxed(main_py: Path, steps: int) -> "PlayedMatch | None":
    """main.py hosted in the builder's own runtime, in a sandbox (its encoder may be someone else's code): the
    match, and the values main.py reported at each step (where one step gave none, a fresh load replays the
    observations for them); None if its model failed to load. Its sandbox has the machine's cores: this match
    checks what main.py plays, not how fast (each target runtime's replay is timed, under Kaggle's 1 CPU)."""
    current = ensure_runtime(get_spec("current"))
    limits = Limits(cpus=float(os.cpu_count() or 1))
    with RuntimeAgent(current, main_py, sandbox=limits) as hosted:
        episode = play_engine_match(hosted, steps)
        recorded, failure = list(hosted.values), hosted.reason
    observations = [step[0].observation for step in episode[:-1]]
    if failure:
        return PlayedMatch(observations, [], episode[-1][0].status, 1, np.zeros((0, N_ACTIONS)), failure)
    if recorded and all(value is None for value in recorded):
        return PlayedMatch(observations, [], episode[-1][0].status, len(recorded), np.zeros((0, N_ACTIONS)),
                           no_values=True)
    if len(recorded) == len(observations) and all(value is not None for value in recorded):
        values = np.asarray([unpacked(value) for value in recorded], dtype=np.float64)  # as a fresh load would
    else:
        values = _replayed_values(current, main_py, observations, limits)
    return PlayedMatch(observations, [step[0].action for step in episode[1:]], episode[-1][0].status,
                       sum(value is None for value in recorded), values)


def _replayed_values(runtime: Runtime, main_py: Path, observations: list, limits: Limits) -> np.ndarray:
    """main.py's values on the observations, from a fresh load in the sandbox (NaN where it gave none)."""
    try:
        with RuntimeAgent(runtime, main_py, sandbox=limits) as replayer:
            result = replayer.replay(observations, agent_configuration())
    except AgentProcessError:
        return np.full((len(observations), N_ACTIONS), np.nan)
    rows = [np.full(N_ACTIONS, np.nan) if row is None else row for row in result.q_values]
    return np.asarray(rows, dtype=np.float64)


def verify_main_py(main_py: Path, reference: Reference, *, steps: int = 300, weights_dtype: str = "float32",
                   targets: tuple = (), sandboxed: bool = False) -> ParityReport:
    """Load main.py like Kaggle (in a sandbox, unless told not), play it on the engine, compare with the reference;
    then replay the same observations inside each target runtime (`targets`: ready Runtime objects) and compare
    there."""
    match = play_sandboxed(main_py, steps) if sandboxed else play_in_process(main_py, steps)
    if match is None:
        return ParityReport(0, 0.0, float("inf"), "NOT PLAYED", 0, load_failed=True, weights_dtype=weights_dtype)
    if match.failure:
        return ParityReport(0, 0.0, float("inf"), match.status, 1, load_failed=False, weights_dtype=weights_dtype,
                            stopped=match.failure)
    observations, played = match.observations, match.played
    raws = [obs["players_raw"][0] for obs in observations]
    evaluation = reference.evaluate(raws)  # a broken encoder is named here, before main.py's failure is
    if match.no_values:
        return ParityReport(0, 0.0, float("inf"), "NOT PLAYED", 0, load_failed=True, weights_dtype=weights_dtype)
    expected = evaluation.values
    candidate = match.values
    rows = [replay_in_runtime(main_py, runtime, observations, expected, agent_configuration(), evaluation.actions,
                              evaluation.elementwise, sandboxed) for runtime in targets]
    scale = 1.0 if evaluation.elementwise else float(np.max(np.abs(expected)))
    for runtime, row in zip(targets, rows, strict=True):
        if reference.user_encoder is not None and not row.passed(weights_dtype, scale):
            row.encoder_gap = encoder_difference(reference.user_encoder, runtime, raws, reference.sandboxed)
    return ParityReport(
        steps=len(observations),
        agreement=action_agreement(played, evaluation.actions),
        max_abs_dq=value_gap(candidate, expected, evaluation.elementwise),
        status=match.status,
        agent_errors=match.agent_errors,
        load_failed=False,
        weights_dtype=weights_dtype,
        runtimes=rows,
        reference=reference.describe(),
        rebuild_vs_source=evaluation.rebuild_vs_source,
        parted=evaluation.parted,
        scale=scale,
        elementwise=evaluation.elementwise,
    )
