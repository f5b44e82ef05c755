"""decide(): the legal-action mask applied to the logits, and a rule (17, release direction, becomes 15, release
sprint, while sticky action 8, sprint, is on)."""
import numpy as np


def encode(obs):
    return features(obs)


def decide(outputs, obs):
    logits = np.array(outputs["logits"][0], dtype=np.float64)
    if obs["ball_owned_team"] != 0:
        logits[[9, 10, 11, 12]] = -np.inf
    action = int(np.argmax(logits))
    if action == 17 and obs["sticky_actions"][8]:
        action = 15
    return action
