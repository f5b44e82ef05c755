"""Time the way Kaggle counts it, from kaggle-environments' own per-step durations.

Each call may take `actTimeout` (0.5 s); anything over comes out of a 60 s overage pool per match, and
an empty pool is a TIMEOUT. Step 1 includes loading main.py (imports, weights, warm-up).
"""

from dataclasses import asdict, dataclass

import numpy as np

from common.kaggle import ACT_TIMEOUT, FULL_MATCH_STEPS


@dataclass
class StepTiming:
    steps: int
    step1: float
    p50: float
    p99: float
    max: float
    over_limit: int
    overage_used: float
    projected_overage: float  # over a full match, every duration multiplied by the slowdown margin

    def to_dict(self) -> dict:
        return asdict(self)


def overage(durations, slowdown: float = 1.0) -> float:
    """Seconds taken from the pool: sum of max(0, slowdown * duration - actTimeout)."""
    scaled = np.asarray(durations, dtype=np.float64) * slowdown
    return float(np.maximum(scaled - ACT_TIMEOUT, 0.0).sum())


def step_timing(durations: list, slowdown: float = 2.0, full_match_steps: int = FULL_MATCH_STEPS) -> StepTiming:
    """Summarise one match's candidate durations (seconds, step 1 first) and project onto a full match."""
    if not durations:
        return StepTiming(0, 0.0, 0.0, 0.0, 0.0, 0, 0.0, 0.0)
    later = np.asarray(durations[1:], dtype=np.float64)
    projected = overage(durations[:1], slowdown)
    if later.size:
        projected += overage(later, slowdown) * (full_match_steps - 1) / later.size
    return StepTiming(
        steps=len(durations),
        step1=float(durations[0]),
        p50=float(np.percentile(later, 50)) if later.size else 0.0,
        p99=float(np.percentile(later, 99)) if later.size else 0.0,
        max=float(later.max()) if later.size else 0.0,
        over_limit=int((np.asarray(durations) > ACT_TIMEOUT).sum()),
        overage_used=overage(durations),
        projected_overage=projected,
    )
