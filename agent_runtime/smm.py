"""gfootball's "super mini map" (SMM), drawn with numpy alone, bit-identical to the engine's own.

gfootball's `observation_preprocessing.generate_smm` marks ONE pixel (value 255) per left-team player,
right-team player, ball and active player on a 96 x 72 grid per channel. main.py draws it itself so that
it needs no gfootball (which Kaggle's agent runtimes did not always have). The arithmetic is the same
float64 expression, in the same order, with the same truncation toward zero and clamping to the grid.
"""

import numpy as np

SMM_WIDTH = 96
SMM_HEIGHT = 72
SMM_LAYERS = ("left_team", "right_team", "ball", "active")

# The pitch in gfootball's normalised coordinates: x in -1..1, y in -1/2.25..1/2.25.
MINIMAP_X_MIN = -1.0
MINIMAP_X_MAX = 1.0
MINIMAP_Y_MIN = -1.0 / 2.25
MINIMAP_Y_MAX = 1.0 / 2.25
MARKER = 255


def _grid_index(values: np.ndarray, low: float, high: float, size: int) -> np.ndarray:
    """gfootball's `max(0, min(size - 1, int((v - low) / (high - low) * size)))`, for an array of v."""
    if np.isnan(values).any():
        raise ValueError("an SMM coordinate is NaN")
    scaled = (values - low) / (high - low) * size
    # Clamping to [-1, size] before truncating gives the same index as truncating first (int() rounds toward
    # zero), and keeps huge or infinite coordinates away from integer overflow.
    return np.clip(np.clip(scaled, -1.0, float(size)).astype(np.int64), 0, size - 1)


def mark_points(plane: np.ndarray, points) -> None:
    """Mark (x, y) pairs of a flat coordinate list on one (height, width) plane; an odd tail (ball z) is ignored."""
    flat = np.asarray(points, dtype=np.float64).reshape(-1)
    pairs = len(flat) // 2
    if pairs == 0:
        return
    xs = _grid_index(flat[0:2 * pairs:2], MINIMAP_X_MIN, MINIMAP_X_MAX, plane.shape[1])
    ys = _grid_index(flat[1:2 * pairs:2], MINIMAP_Y_MIN, MINIMAP_Y_MAX, plane.shape[0])
    plane[ys, xs] = MARKER


def render_smm(raw_observation: dict, width: int = SMM_WIDTH, height: int = SMM_HEIGHT) -> np.ndarray:
    """One player's raw observation -> (height, width, 4) uint8 SMM, as `generate_smm([raw])[0]` draws it."""
    frame = np.zeros((height, width, len(SMM_LAYERS)), dtype=np.uint8)
    for index, layer in enumerate(SMM_LAYERS):
        if layer == "active":
            active = raw_observation["active"]
            if active == -1:  # no controlled player
                continue
            points = raw_observation["left_team"][active]
        else:
            points = raw_observation[layer]
        mark_points(frame[:, :, index], points)
    return frame
