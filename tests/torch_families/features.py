"""Engineered features of one player's raw observation (36 values), as GRF PyTorch agents compute them."""
import numpy as np

N_FEATURES = 36


def features(obs):
    active = obs["active"]
    me = np.asarray(obs["left_team"][active], dtype=np.float32)
    opponents = np.asarray(obs["right_team"], dtype=np.float32)
    distance = np.linalg.norm(opponents - me, axis=1)
    nearest = opponents[np.argsort(distance, kind="stable")[:2]] - me  # "stable": ties ordered alike in every numpy
    return np.concatenate([
        np.asarray(obs["ball"], dtype=np.float32),
        np.asarray(obs["ball_direction"], dtype=np.float32) * 10,
        me,
        np.asarray(obs["left_team_direction"][active], dtype=np.float32) * 10,
        nearest.reshape(-1),
        np.eye(3, dtype=np.float32)[obs["ball_owned_team"] + 1],
        np.eye(7, dtype=np.float32)[obs["game_mode"]],
        np.asarray(obs["sticky_actions"], dtype=np.float32),
        np.asarray([1.0 - me[0], -me[1]], dtype=np.float32),
    ])
