"""main.py's own SMM renderer against gfootball's `generate_smm`, bit for bit, on real engine observations."""

import copy

import numpy as np
import pytest
from gfootball.env import observation_preprocessing

from agent_runtime.smm import MINIMAP_Y_MAX, render_smm

SET_PIECES = {2: "goal kick", 3: "free kick", 4: "corner", 5: "throw-in"}


def _edge_cases(raws: list) -> list:
    """Real observations edited to the corners of the grid: no active player, players exactly on the touchlines,
    corners and goal lines, just outside them (truncation toward zero), and the ball far out of play."""
    cases = []
    y_edge = MINIMAP_Y_MAX
    spots = [(-1.0, -y_edge), (1.0, y_edge), (-1.0, y_edge), (1.0, -y_edge), (-1.0000001, 0.0), (1.0000001, 0.0),
             (-1.02, -0.43), (1.3, 0.6), (0.0, -y_edge - 1e-9), (-0.999, 0.4444), (1e9, -1e9), (-0.0104, -0.4444)]
    for index, raw in enumerate(raws[:: max(1, len(raws) // 60)]):
        edited = copy.deepcopy(raw)
        x, y = spots[index % len(spots)]
        edited["left_team"][index % len(edited["left_team"])] = [x, y]
        edited["right_team"][(index + 3) % len(edited["right_team"])] = [-x, -y]
        edited["ball"] = [x * 1.01, y * 1.01, 0.5]
        if index % 3 == 0:
            edited["active"] = -1
        cases.append(edited)
    return cases


def test_render_smm_is_bit_identical_to_gfootball(both_sides_observations):
    raws = both_sides_observations
    cases = raws + _edge_cases(raws)
    assert len(raws) >= 5000
    for raw in cases:
        want = observation_preprocessing.generate_smm([raw])[0]
        got = render_smm(raw)
        assert got.dtype == want.dtype == np.uint8 and got.shape == want.shape == (72, 96, 4)
        np.testing.assert_array_equal(got, want)

    # The real match covered what the golden test claims to cover.
    modes = {raw["game_mode"] for raw in raws}
    assert modes & set(SET_PIECES), f"no set piece in the match (game modes {modes})"
    assert any(abs(raw["ball"][0]) > 1.0 or abs(raw["ball"][1]) > MINIMAP_Y_MAX for raw in raws), "ball never out"
    assert 5 in modes, "no throw-in"
    assert any(abs(p[1]) > 0.43 for raw in raws for p in raw["left_team"] + raw["right_team"]), "no touchline"
    assert any(abs(p[0]) > 1.0 for raw in raws for p in raw["left_team"] + raw["right_team"]), "no goal line"
    assert sum(raw["active"] == -1 for raw in cases) >= 20


def test_nan_coordinates_raise_like_gfootball(both_sides_observations):
    raw = copy.deepcopy(both_sides_observations[0])
    raw["ball"] = [float("nan"), 0.0, 0.0]
    with pytest.raises(ValueError):
        observation_preprocessing.generate_smm([raw])
    with pytest.raises(ValueError):
        render_smm(raw)
