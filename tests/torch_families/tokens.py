"""Every player as a token: an int64 id (team and role, for an embedding) and a float row (position, direction)."""
import numpy as np


def encode(obs):
    ids = np.concatenate([np.asarray(obs["left_team_roles"]), 10 + np.asarray(obs["right_team_roles"])])
    rows = np.concatenate([
        np.concatenate([obs["left_team"], np.asarray(obs["left_team_direction"]) * 10], axis=1),
        np.concatenate([obs["right_team"], np.asarray(obs["right_team_direction"]) * 10], axis=1)])
    ball = np.asarray(obs["ball"], dtype=np.float32)
    return {"ids": ids.astype(np.int64), "players": (rows - np.r_[ball[:2], 0, 0]).astype(np.float32)}
