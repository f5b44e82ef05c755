"""A multi-file test agent: its action comes from utils.py beside it. If another agent's utils.py were imported
instead (two agents sharing one interpreter), it raises, and the match records an ERROR."""

import utils

EXPECTED = "idler"


def agent(observation, configuration=None):
    if utils.OWNER != EXPECTED:
        raise RuntimeError(f"imported {utils.OWNER}'s utils.py, not {EXPECTED}'s")
    return [utils.ACTION]
