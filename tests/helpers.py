"""Helpers the tests share (fixtures live in conftest.py)."""

import numpy as np

from builder.reference_inputs import reference_inputs
from builder.verify import main_py_values
from common.kaggle import load_like_kaggle

NOTEBOOK_SPEC = [{"representation": "smm", "scale": 255.0, "diff": True, "stack": 1, "fill": "first",
                  "stack_axis": "concat"}]


def raw(observation) -> dict:
    """The raw gfootball observation of a kaggle observation (or of a raw one)."""
    return observation["players_raw"][0] if "players_raw" in observation else observation


def as_kaggle(raw_observations: list) -> list:
    """Raw gfootball observations as kaggle-environments hands them to an agent."""
    return [{"players_raw": [r]} for r in raw_observations]


def main_py_q_values(main_py, observations: list) -> np.ndarray:
    """The values main.py computes on these observations (kaggle or raw), loaded the way kaggle-environments loads
    it, from a fresh pipeline."""
    return main_py_values(load_like_kaggle(main_py).__globals__, as_kaggle([raw(o) for o in observations]))


def notebook_inputs(observations: list) -> np.ndarray:
    """The notebook's model inputs for these observations, by the reference pipeline (gfootball's generate_smm)."""
    return reference_inputs(NOTEBOOK_SPEC, [raw(o) for o in observations])[0]


def model_q_values(model, observations: list) -> np.ndarray:
    """Values a Keras notebook model gives the same observations through the reference pipeline."""
    return np.asarray(model.predict_on_batch(notebook_inputs(observations)))


def resolved(model, folder):
    """A live Keras model as gfsub reads it: saved as .keras, its graph and weights resolved and checked."""
    from builder.load import load_weights
    from builder.model_graph import check_graph
    from builder.validate import resolve_model

    path = folder / f"{model.name}.keras"
    model.save(path)
    found = resolve_model(load_weights(path), None)
    check_graph(found.graph, found.named, path)
    found.graph.output = found.graph.outputs[0]
    return found


def graph_model(model, folder):
    """gfsub's numpy forward of a live Keras model (see resolved)."""
    from agent_runtime.graph import GraphModel

    found = resolved(model, folder)
    return GraphModel(found.graph.as_data(), found.named)


def still_running(processes: list, timeout: float) -> list:
    """Those of `processes` still running after up to `timeout` s: not gone and not zombies (an exited process
    whose parent died waits for pid 1 to collect its exit status; it runs nothing)."""
    import psutil

    def running(process) -> bool:
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return [process for process in psutil.wait_procs(processes, timeout=timeout)[1] if running(process)]
