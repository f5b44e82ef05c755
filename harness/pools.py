"""Where matches run: a local pool of match processes, or a Ray cluster (harness.ray_pool). Either way the driver
is the only writer of results.jsonl: each result is recorded in the driver's main thread as it arrives."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from harness.processes import MatchProcesses, run_match, sigterm_as_interrupt
from harness.progress import Watcher
from harness.results import MatchResult, MatchSpec
from harness.rundir import ResultsLog, open_run_dir, write_report

OnResult = Callable[[MatchResult], None]
OnProgress = Callable[[int, int], None]  # (match index, steps played so far)


class LocalPool:
    """`jobs` match processes at a time on this machine, each pinned to cores // jobs threads."""

    def __init__(self, *, jobs: int, match_timeout: float, threads: int) -> None:
        self.jobs, self.match_timeout, self.threads = jobs, match_timeout, threads

    def describe(self) -> str:
        return f"{self.jobs} local process{'es' if self.jobs != 1 else ''}"

    def run(self, specs: list, on_result: OnResult, on_progress: "OnProgress | None" = None) -> None:
        """Play `specs`; on_result for each, in this thread, as it finishes. On KeyboardInterrupt: kill the
        running matches, start no more, re-raise."""
        processes = MatchProcesses()
        pool = ThreadPoolExecutor(max_workers=max(1, self.jobs))
        try:
            futures = [pool.submit(run_match, spec, self.match_timeout, self.threads, processes, on_progress)
                       for spec in specs]
            for future in as_completed(futures):
                result = future.result()
                if result is not None:
                    on_result(result)
        except KeyboardInterrupt:
            processes.stop_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class RunInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped a check or league; `.report` is the INTERRUPTED report written for it
    (`--resume` continues the run)."""

    def __init__(self, report, run_dir: Path) -> None:
        super().__init__("interrupted")
        self.report, self.run_dir = report, run_dir


def play_run(pool, specs: list[MatchSpec], run_dir: Path, *, kind: str, settings: dict, resume: bool,
             make_report: Callable[[list, bool], object], watcher: "Watcher | None" = None):
    """A check's or a league's run: open the run directory (`kind`, `settings`), play the matches of `specs` not
    finished yet, write report.json from `make_report(results, interrupted)`; -> the report. On Ctrl-C or SIGTERM
    the running matches are killed, the finished ones kept, and RunInterrupted raised with the report."""
    done = open_run_dir(run_dir, settings, resume, kind)
    finished = {result.index for result in done}
    todo = [spec for spec in specs if spec.index not in finished]
    try:
        play_and_record(pool, todo, run_dir, done, watcher)
    except KeyboardInterrupt:
        report = make_report(done, True)
        write_report(run_dir, report.to_dict())
        raise RunInterrupted(report, run_dir) from None
    report = make_report(done, False)
    write_report(run_dir, report.to_dict())
    return report


def play_and_record(pool, specs: list[MatchSpec], run_dir: Path, done: list, watcher: "Watcher | None" = None
                    ) -> None:
    """Play `specs` on `pool`, appending each result to results.jsonl and to `done` as it arrives (a match
    already in `done` is never recorded twice). Ctrl-C and SIGTERM raise KeyboardInterrupt after the pool
    stopped; what finished is kept."""
    watcher = watcher or Watcher()
    recorded = {result.index for result in done}
    watcher.started(specs)
    with sigterm_as_interrupt(), ResultsLog(run_dir) as log:
        def record(result: MatchResult) -> None:
            if result.index in recorded:
                return
            recorded.add(result.index)
            log.append(result)
            done.append(result)
            watcher.finished(result)

        pool.run(specs, record, watcher.progress)
