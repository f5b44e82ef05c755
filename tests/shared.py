"""Session fixtures made once for the whole run, whatever the number of pytest-xdist workers.

The first worker that asks makes the value in a folder all workers of the run share, under a file lock; the others
wait on the lock and read it back (pytest-xdist's documented recipe). Without xdist the value is made as usual."""

import pickle
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock


def made_once(tmp_path_factory, name: str, make: Callable[[Path], object]) -> object:
    """`make(folder)`'s value, made once per test run in a folder of its own that every worker sees."""
    base = tmp_path_factory.getbasetemp()
    if not base.name.startswith("popen-gw"):  # not an xdist worker: this process is the whole run
        return make(tmp_path_factory.mktemp(name))
    folder = base.parent / f"shared-{name}"
    with FileLock(f"{folder}.lock"):
        made = folder / "value.pickle"
        if made.exists():
            return pickle.loads(made.read_bytes())
        folder.mkdir(exist_ok=True)
        value = make(folder)
        made.write_bytes(pickle.dumps(value))
        return value
