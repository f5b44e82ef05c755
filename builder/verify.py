"""Step 4 of the pipeline: prove the rendered main.py plays exactly like the source model, in every target runtime.

main.py is loaded the way Kaggle loads it (kaggle-environments' own `get_last_callable`), then plays a real match on
the gfootball engine against the engine's AI. Every observation it saw goes through the reference: gfootball's own
representations and the verification's own buffers (reference_inputs.py), into the source model itself, run by the
Keras of its era (source_model.py), or, for a weights-only file of the notebook family, gfsub's Keras rebuild. Then
the same observations are replayed through main.py inside each target runtime (its own interpreter and packages,
main.py loaded by the runtime's loader rules), and every action and value there is compared with the reference too.
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent_runtime.graph import GraphModel
from builder.reference_inputs import reference_inputs
from builder.source_model import SourceReference, source_values
from common.errors import EncoderError
from common.kaggle import agent_configuration, load_like_kaggle, make_football
from runtimes.hosted import AgentProcessError, RuntimeAgent
from runtimes.registry import Runtime

# (min action agreement, max |dQ| relative to max(1, max |Q|)) per stored weight dtype; float16 rounding moves the
# values, so only agreement counts.
THRESHOLDS = {"float32": (1.0, 1e-4), "float16": (0.99, float("inf"))}


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

    @property
    def passed(self) -> bool:
        return (not self.load_failed and self.agent_errors == 0 and self.status == "DONE" and self.steps > 0
                and _passes(self.agreement, self.max_abs_dq, self.weights_dtype, self.scale)
                and all(row.passed(self.weights_dtype, self.scale) for row in self.runtimes))

    def failed_runtime(self) -> "RuntimeParity | None":
        return next((row for row in self.runtimes if not row.passed(self.weights_dtype, self.scale)), None)

    def summary(self) -> str:
        if self.load_failed:
            return "the model inside main.py failed to load"
        return (f"{self.steps} engine steps, action agreement {self.agreement:.2%}, max |dQ| {self.max_abs_dq:.2e}, "
                f"match status {self.status}, agent errors {self.agent_errors}")


@dataclass
class Reference:
    """What main.py is compared with: the source model itself (`source`), or gfsub's Keras rebuild of the graph."""

    graph: dict
    named: list
    observation: list
    encoder: "tuple | None" = None  # (encode, reset) of an --encoder file, run here as in main.py
    source: "SourceReference | None" = None
    output_index: int = 0
    output_name: str = ""
    input_names: "list | None" = None
    ordered: "list | None" = None  # a weights-only file's arrays, for a model rebuilt from its JSON
    encoder_path: "Path | None" = None

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
            inputs = reference_inputs(self.observation, raw_observations, self.encoder)
        except Exception as exc:  # noqa: BLE001 - the user's encoder: whatever it raises, one line
            if self.encoder is None:
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
                      configuration: dict) -> RuntimeParity:
    """Replay the observations through main.py inside `runtime`; compare actions and values with the reference."""
    row = RuntimeParity(runtime=runtime.name, versions=runtime.describe())
    try:
        with RuntimeAgent(runtime, main_py) as agent:
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
    row.agreement = action_agreement(result.actions, reference.argmax(axis=1))
    row.max_abs_dq = float(np.max(np.abs(values - reference))) if values.shape == reference.shape else float("inf")
    row.step1 = float(result.seconds[0])
    row.p50, row.p99 = float(np.percentile(later, 50)), float(np.percentile(later, 99))
    return row


def verify_main_py(main_py: Path, reference: Reference, *, steps: int = 300, weights_dtype: str = "float32",
                   targets: tuple = ()) -> ParityReport:
    """Load main.py like Kaggle, play it on the engine, compare with the reference; then replay the same
    observations inside each target runtime (`targets`: ready Runtime objects) and compare there."""
    agent = load_like_kaggle(main_py)
    namespace = agent.__globals__
    policy = namespace.get("POLICY")
    if policy is None:
        return ParityReport(0, 0.0, float("inf"), "NOT PLAYED", 0, load_failed=True, weights_dtype=weights_dtype)
    episode = play_engine_match(agent, steps)
    observations = [step[0].observation for step in episode[:-1]]
    played = [step[0].action for step in episode[1:]]
    inputs = reference.inputs([obs["players_raw"][0] for obs in observations])
    expected, rebuild_vs_source = reference.values(inputs)
    candidate = main_py_values(namespace, observations)
    return ParityReport(
        steps=len(observations),
        agreement=action_agreement(played, expected.argmax(axis=1)),
        max_abs_dq=float(np.max(np.abs(candidate - expected))) if candidate.shape == expected.shape else float("inf"),
        status=episode[-1][0].status,
        agent_errors=int(policy.errors),
        load_failed=False,
        weights_dtype=weights_dtype,
        runtimes=[replay_in_runtime(main_py, runtime, observations, expected, agent_configuration())
                  for runtime in targets],
        reference=reference.describe(),
        rebuild_vs_source=rebuild_vs_source,
        scale=float(np.max(np.abs(expected))),
    )
