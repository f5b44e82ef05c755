"""gfsub harness: real matches of main.py files on the gfootball engine, timed as Kaggle times them.

match (one match in its own process) -> processes (run, watch, kill) -> check (would it forfeit?) and
league (which candidate is best?), on a local pool or a Ray cluster (pools, ray_pool).
"""

import common  # noqa: F401 - sets the third-party log levels once, for match processes and Ray workers too
