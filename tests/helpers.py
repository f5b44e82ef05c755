"""Helpers the tests share (fixtures live in conftest.py)."""

import numpy as np

from builder import verify
from builder.verify import load_like_kaggle, pipeline_inputs


def main_py_q_values(main_py, observations: list) -> np.ndarray:
    """Q-values main.py computes on these observations, loaded the way kaggle-environments loads it."""
    return verify.main_py_q_values(load_like_kaggle(main_py).__globals__, observations)


def model_q_values(model, observations: list) -> np.ndarray:
    """Q-values a Keras model gives the same observations through the reference pipeline."""
    return np.asarray(model.predict_on_batch(pipeline_inputs(observations)))


__all__ = ["main_py_q_values", "model_q_values", "pipeline_inputs"]
