"""gfootball's `simple115` and `simple115v2` features, computed with numpy alone, bit-identical to the engine's own
`Simple115StateWrapper.convert_observation([raw], fixed_positions)[0]` (main.py needs no gfootball).

115 float32 values: the left team's positions (22) and directions (22), the right team's (22, 22), the ball's
position (3) and direction (3), which team owns the ball (3, one-hot: none, left, right), the active player (11,
one-hot; all zeros when none) and the game mode (7, one-hot). simple115v2 pads each group of 22 on its own with -1
when a team has fewer than 11 players; simple115 pads them together at the end. In 11 vs 11 they are the same.
"""

import numpy as np

SIMPLE115_SIZE = 115
TEAM_GROUPS = ("left_team", "left_team_direction", "right_team", "right_team_direction")


def simple115(raw_observation, fixed_positions=True):
    """One player's raw observation -> (115,) float32."""
    values = []
    for index, name in enumerate(TEAM_GROUPS):
        values.extend(np.asarray(raw_observation[name], dtype=np.float64).reshape(-1).tolist())
        if fixed_positions and len(values) < (index + 1) * 22:
            values.extend([-1.0] * ((index + 1) * 22 - len(values)))
    if len(values) < 88:
        values.extend([-1.0] * (88 - len(values)))
    values.extend(np.asarray(raw_observation["ball"], dtype=np.float64).reshape(-1).tolist())
    values.extend(np.asarray(raw_observation["ball_direction"], dtype=np.float64).reshape(-1).tolist())
    owner = {-1: [1, 0, 0], 0: [0, 1, 0], 1: [0, 0, 1]}.get(raw_observation["ball_owned_team"], [])
    values.extend(owner)
    active = [0] * 11
    if raw_observation["active"] != -1:
        active[raw_observation["active"]] = 1
    values.extend(active)
    mode = [0] * 7
    mode[raw_observation["game_mode"]] = 1
    values.extend(mode)
    return np.array(values, dtype=np.float32)
