"""The last 8 feature frames, oldest first (zeros before the match's first)."""
import collections

import numpy as np

FRAMES = collections.deque(maxlen=8)


def reset():
    FRAMES.clear()


def encode(obs):
    if not FRAMES:
        FRAMES.extend([np.zeros(N_FEATURES, dtype=np.float32)] * 8)
    FRAMES.append(features(obs))
    return np.stack(list(FRAMES))
