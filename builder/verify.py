"""Step 4 of the pipeline: prove the rendered main.py plays exactly like the source model.

main.py is loaded the way Kaggle loads it (kaggle-environments' own `get_last_callable`), then
plays a real match on the gfootball engine against the engine's AI. Every observation it saw is
replayed through the reference: the source weights in a freshly built Keras model behind the same
observation pipeline. The actions it played must all equal the reference's greedy actions.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent_runtime.architecture import Architecture
from agent_runtime.observation import FrameDifference, raw_player_observation

# (min action agreement, max |dQ|) per stored weight dtype; float16 rounding moves Q-values, so only agreement counts.
THRESHOLDS = {"float32": (1.0, 1e-4), "float16": (0.99, float("inf"))}


@dataclass
class ParityReport:
    steps: int
    agreement: float
    max_abs_dq: float
    status: str
    agent_errors: int
    load_failed: bool
    weights_dtype: str = "float32"

    @property
    def passed(self) -> bool:
        min_agreement, max_abs_dq = THRESHOLDS[self.weights_dtype]
        return (not self.load_failed and self.agent_errors == 0 and self.status == "DONE"
                and self.steps > 0 and self.agreement >= min_agreement and self.max_abs_dq <= max_abs_dq)

    def summary(self) -> str:
        if self.load_failed:
            return "the model inside main.py failed to load"
        return (f"{self.steps} engine steps, action agreement {self.agreement:.2%}, max |dQ| {self.max_abs_dq:.2e}, "
                f"match status {self.status}, agent errors {self.agent_errors}")


def load_like_kaggle(main_py: Path):
    """The agent callable exactly as kaggle-environments obtains it from a file."""
    from kaggle_environments.agent import get_last_callable

    return get_last_callable(main_py.read_text(encoding="utf-8"), path=str(main_py))


def play_engine_match(agent, steps: int) -> list:
    """Play `steps` steps as the left team against the engine AI; -> kaggle-environments' steps list."""
    from kaggle_environments import make

    with tempfile.TemporaryDirectory(prefix="gfsub-verify-") as logdir:
        env = make("football", debug=False, configuration={
            "scenario_name": "11_vs_11_kaggle", "episodeSteps": steps + 1, "team_2": 0, "logdir": logdir,
        })
        return env.run([agent, "do_nothing"])


def pipeline_inputs(observations: list, frames: "FrameDifference | None" = None) -> np.ndarray:
    """Model inputs for consecutive kaggle observations through one frame buffer (a fresh one by default)."""
    frames = frames if frames is not None else FrameDifference()
    return np.stack([frames.push_raw(raw_player_observation(obs)) for obs in observations])


def main_py_q_values(namespace: dict, observations: list) -> np.ndarray:
    """Q-values main.py's own pipeline and model give these observations, from a fresh frame buffer."""
    inputs = pipeline_inputs(observations, namespace["FrameDifference"]())
    return np.stack([namespace["POLICY"].q_function(x) for x in inputs]).astype(np.float64)


def reference_q_values(arch: Architecture, named_weights: list, observations: list) -> np.ndarray:
    """Q-values of the source weights on each observation, through a fresh frame buffer: (N, n_actions)."""
    from agent_runtime.keras_model import assign_weights, build_keras_model

    model = build_keras_model(arch)
    assign_weights(model, arch, named_weights)
    batch = pipeline_inputs(observations, FrameDifference(arch.input_shape))
    return np.asarray(model.predict_on_batch(batch), dtype=np.float64)


def verify_main_py(main_py: Path, arch: Architecture, named_weights: list, steps: int = 300,
                   weights_dtype: str = "float32") -> ParityReport:
    """Load main.py like Kaggle, play it on the engine, compare with the reference model."""
    agent = load_like_kaggle(main_py)
    namespace = agent.__globals__
    policy = namespace.get("POLICY")
    if policy is None:
        return ParityReport(0, 0.0, float("inf"), "NOT PLAYED", 0, load_failed=True, weights_dtype=weights_dtype)
    episode = play_engine_match(agent, steps)
    observations = [step[0].observation for step in episode[:-1]]
    played = [step[0].action for step in episode[1:]]
    status = episode[-1][0].status

    reference = reference_q_values(arch, named_weights, observations)
    candidate = main_py_q_values(namespace, observations)
    expected = reference.argmax(axis=1)
    agreement = float(np.mean([list(a) == [int(e)] for a, e in zip(played, expected, strict=True)]))
    return ParityReport(
        steps=len(observations),
        agreement=agreement,
        max_abs_dq=float(np.max(np.abs(candidate - reference))),
        status=status,
        agent_errors=int(policy.errors),
        load_failed=False,
        weights_dtype=weights_dtype,
    )
