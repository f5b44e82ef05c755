"""Where gfsub keeps what it makes once and reuses: runtime venvs, the engine's wheel, logs.

`$GFSUB_CACHE`, by default `~/.cache/gfsub`.
"""

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("GFSUB_CACHE") or Path.home() / ".cache" / "gfsub")


def log_path() -> Path:
    """The log of the command now running: third-party output, and the traceback of a gfsub bug."""
    return cache_dir() / "logs" / "last-command.log"
