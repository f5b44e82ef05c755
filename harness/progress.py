"""Live progress of a run: matches done of total, engine steps per second across the running matches, ETA.

Match processes report the steps they have played twice a second (locally through a pipe, on Ray through a small
actor); a Watcher receives them, and each finished match. `StepCounter` turns them into totals that a display
(the CLI's progress bar) can show; it is safe to call from the threads that read the match processes.
"""

import threading
import time

from harness.results import MatchResult, MatchSpec


class Watcher:
    """What a run tells about itself as it goes; the base class ignores it all."""

    def started(self, specs: list[MatchSpec]) -> None:
        """The matches about to be played (those already finished in a resumed run are not among them)."""

    def progress(self, index: int, steps: int) -> None:
        """Match `index` has played `steps` steps so far."""

    def finished(self, result: MatchResult) -> None:
        """Match `result.index` is over and recorded."""


class StepCounter(Watcher):
    """Steps played across the run, for a rate and an ETA."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total_matches = self.done = 0
        self.total_steps = self._finished_steps = 0
        self._running = {}
        self._finished = set()
        self.start = time.monotonic()

    def started(self, specs: list[MatchSpec]) -> None:
        with self._lock:
            self.total_matches = len(specs)
            self.total_steps = sum(spec.steps for spec in specs)
            self.start = time.monotonic()

    def progress(self, index: int, steps: int) -> None:
        with self._lock:
            if index not in self._finished:
                self._running[index] = steps

    def finished(self, result: MatchResult) -> None:
        with self._lock:
            self._finished.add(result.index)
            self._running.pop(result.index, None)
            self._finished_steps += result.spec.steps  # a match that ended early still counts as done
            self.done += 1

    @property
    def played_steps(self) -> int:
        with self._lock:
            return self._finished_steps + sum(self._running.values())

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def steps_per_second(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.played_steps / elapsed if elapsed > 0 else 0.0

    def eta_seconds(self) -> "float | None":
        rate = self.steps_per_second()
        if rate <= 0:
            return None
        return max(0.0, self.total_steps - self.played_steps) / rate
