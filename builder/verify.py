"""Step 4 of the pipeline: prove the rendered main.py plays exactly like the source model, in every target runtime.

main.py is loaded the way Kaggle loads it (kaggle-environments' own `get_last_callable`), then plays a real
match on the gfootball engine against the engine's AI. Every observation it saw is run through the
reference: the source weights in a freshly built Keras model behind the observation pipeline fed by
gfootball's own `generate_smm`. Then the same observations are replayed through main.py inside each target
runtime (its own interpreter and packages, main.py loaded by the runtime's loader rules), and every action
and Q-value there is compared with the reference too.
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent_runtime.architecture import Architecture
from agent_runtime.observation import FrameDifference, raw_player_observation
from builder.load import NamedWeights
from common.kaggle import agent_configuration, load_like_kaggle, make_football
from runtimes.hosted import AgentProcessError, RuntimeAgent
from runtimes.registry import Runtime

# (min action agreement, max |dQ|) per stored weight dtype; float16 rounding moves Q-values, so only agreement counts.
THRESHOLDS = {"float32": (1.0, 1e-4), "float16": (0.99, float("inf"))}


def _passes(agreement: float, max_abs_dq: float, weights_dtype: str) -> bool:
    min_agreement, max_dq = THRESHOLDS[weights_dtype]
    return agreement >= min_agreement and max_abs_dq <= max_dq


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

    def passed(self, weights_dtype: str) -> bool:
        return not self.error and self.steps > 0 and _passes(self.agreement, self.max_abs_dq, weights_dtype)


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
    reference: str = "rebuilt from the weights by gfsub (a weights-only file cannot be run itself)"
    rebuild_vs_source: float = 0.0  # max |dQ| between gfsub's rebuild and the source model itself, when it ran

    @property
    def passed(self) -> bool:
        return (not self.load_failed and self.agent_errors == 0 and self.status == "DONE" and self.steps > 0
                and _passes(self.agreement, self.max_abs_dq, self.weights_dtype)
                and all(row.passed(self.weights_dtype) for row in self.runtimes))

    def failed_runtime(self) -> "RuntimeParity | None":
        return next((row for row in self.runtimes if not row.passed(self.weights_dtype)), None)

    def summary(self) -> str:
        if self.load_failed:
            return "the model inside main.py failed to load"
        return (f"{self.steps} engine steps, action agreement {self.agreement:.2%}, max |dQ| {self.max_abs_dq:.2e}, "
                f"match status {self.status}, agent errors {self.agent_errors}")


def play_engine_match(agent, steps: int) -> list:
    """Play `steps` steps as the left team against the engine AI; -> kaggle-environments' steps list."""
    with tempfile.TemporaryDirectory(prefix="gfsub-verify-") as logdir:
        env = make_football(steps=steps, team_2=0, logdir=logdir)
        return env.run([agent, "do_nothing"])


def gfootball_frame(raw_observation: dict) -> np.ndarray:
    """The reference SMM frame: gfootball's own generate_smm, /255 (main.py draws its own, bit-identical)."""
    from gfootball.env import observation_preprocessing

    return observation_preprocessing.generate_smm([raw_observation])[0].astype(np.float32) / np.float32(255.0)


def pipeline_inputs(observations: list, frames: "FrameDifference | None" = None) -> np.ndarray:
    """Model inputs for consecutive kaggle observations through one frame buffer (by default a fresh one that
    draws frames with gfootball's own generate_smm: the reference pipeline)."""
    frames = frames if frames is not None else FrameDifference(render=gfootball_frame)
    return np.stack([frames.push_raw(raw_player_observation(obs)) for obs in observations])


def main_py_q_values(namespace: dict, observations: list) -> np.ndarray:
    """Q-values main.py's own pipeline and model give these observations, from a fresh frame buffer."""
    inputs = pipeline_inputs(observations, namespace["FrameDifference"]())
    return np.stack([namespace["POLICY"].q_function(x) for x in inputs]).astype(np.float64)


def reference_q_values(arch: Architecture, named_weights: NamedWeights, inputs: np.ndarray) -> np.ndarray:
    """Q-values of gfsub's Keras rebuild of the source weights on these model inputs: (N, n_actions)."""
    from agent_runtime.keras_model import assign_weights, build_keras_model

    model = build_keras_model(arch)
    assign_weights(model, arch, named_weights)
    return np.asarray(model.predict_on_batch(inputs), dtype=np.float64)


def action_agreement(played: list, expected: np.ndarray) -> float:
    """Share of steps whose played action ([a], as an agent returns it) is the reference's greedy action; a
    replay that stopped early agrees on none of the steps it did not play."""
    if len(played) != len(expected):
        return 0.0
    return float(np.mean([list(action) == [int(best)] for action, best in zip(played, expected, strict=True)]))


def replay_in_runtime(main_py: Path, runtime: Runtime, observations: list, reference: np.ndarray,
                      configuration: dict) -> RuntimeParity:
    """Replay the observations through main.py inside `runtime`; compare actions and Q-values with the reference."""
    row = RuntimeParity(runtime=runtime.name, versions=runtime.describe())
    try:
        with RuntimeAgent(runtime, main_py) as agent:
            result = agent.replay(observations, configuration)
    except AgentProcessError as error:
        row.error = error.summary
        return row
    expected = reference.argmax(axis=1)
    if any(q is None for q in result.q_values):
        row.error = "main.py did not report its Q-values (is it a gfsub main.py?)"
        return row
    q_values = np.asarray(result.q_values, dtype=np.float64)
    later = np.asarray(result.seconds[1:]) if len(result.seconds) > 1 else np.zeros(1)
    row.steps = len(result.actions)
    row.agreement = action_agreement(result.actions, expected)
    row.max_abs_dq = float(np.max(np.abs(q_values - reference)))
    row.step1 = float(result.seconds[0])
    row.p50, row.p99 = float(np.percentile(later, 50)), float(np.percentile(later, 99))
    return row


def verify_main_py(main_py: Path, arch: Architecture, named_weights: NamedWeights, *, steps: int = 300,
                   weights_dtype: str = "float32", targets: tuple = (), source=None) -> ParityReport:
    """Load main.py like Kaggle, play it on the engine, compare with the reference model; then replay the
    same observations inside each target runtime (`targets`: ready Runtime objects) and compare there.
    The reference is the source model itself when `source` (a SourceReference) can run it, else the rebuild."""
    agent = load_like_kaggle(main_py)
    namespace = agent.__globals__
    policy = namespace.get("POLICY")
    if policy is None:
        return ParityReport(0, 0.0, float("inf"), "NOT PLAYED", 0, load_failed=True, weights_dtype=weights_dtype)
    episode = play_engine_match(agent, steps)
    observations = [step[0].observation for step in episode[:-1]]
    played = [step[0].action for step in episode[1:]]
    status = episode[-1][0].status

    inputs = pipeline_inputs(observations, FrameDifference(arch.input_shape, render=gfootball_frame))
    reference = reference_q_values(arch, named_weights, inputs)
    described, rebuild_vs_source = ParityReport.reference, 0.0
    if source is not None:
        from builder.source_model import source_q_values

        own = source_q_values(source, inputs)
        rebuild_vs_source = float(np.max(np.abs(own - reference)))
        reference, described = own, source.describe()
    candidate = main_py_q_values(namespace, observations)
    expected = reference.argmax(axis=1)
    agreement = action_agreement(played, expected)
    return ParityReport(
        steps=len(observations),
        agreement=agreement,
        max_abs_dq=float(np.max(np.abs(candidate - reference))),
        status=status,
        agent_errors=int(policy.errors),
        load_failed=False,
        weights_dtype=weights_dtype,
        runtimes=[replay_in_runtime(main_py, runtime, observations, reference, agent_configuration())
                  for runtime in targets],
        reference=described,
        rebuild_vs_source=rebuild_vs_source,
    )
