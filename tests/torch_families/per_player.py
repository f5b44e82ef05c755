"""A GRU state per controlled player, kept by the encoder: encode gives the active player's state, decide stores
the next one (build with --state none)."""
import numpy as np

STATES = {}
CURRENT = [0]


def reset():
    STATES.clear()


def encode(obs):
    CURRENT[0] = obs["active"]
    return {"features": features(obs), "h": STATES.get(obs["active"], np.zeros((1, 1, 32), dtype=np.float32))[0]}


def decide(outputs, obs):
    STATES[CURRENT[0]] = np.asarray(outputs["h_out"], dtype=np.float32)
    return int(np.argmax(outputs["logits"][0]))
