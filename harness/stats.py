"""Intervals for win rates: how sure a handful of matches lets one be."""

import math


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> list:
    """95 % Wilson score interval for a rate of `successes` in `trials` (the whole [0, 1] for no trials)."""
    if trials == 0:
        return [0.0, 1.0]
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return [max(0.0, centre - half), min(1.0, centre + half)]
