"""Features and a legal-action mask, keyed by the model's input names: without the ball, no pass or shot."""
import numpy as np

WITHOUT_BALL = [9, 10, 11, 12]  # long / high / short pass, shot


def mask(obs):
    legal = np.ones(19, dtype=np.float32)
    if obs["ball_owned_team"] != 0:
        legal[WITHOUT_BALL] = 0.0
    return legal


def encode(obs):
    return {"features": features(obs), "mask": mask(obs)}
