"""A run directory: run.json (the settings), results.jsonl (one line per finished match, appended by the driver
only), report.json. `--resume` reopens it with the same settings and plays only what is missing."""

import json
from pathlib import Path

from common.errors import RunDirectoryError
from common.files import write_atomic
from harness.results import MatchResult

RESULTS = "results.jsonl"
RUN_CONFIG = "run.json"
REPORT = "report.json"


def open_run_dir(run_dir: Path, settings: dict, resume: bool, kind: str) -> list:
    """Create or reopen `run_dir` for a run of `kind` (check, league); -> results already finished."""
    stored = run_dir / RUN_CONFIG
    if resume and stored.exists():
        previous = json.loads(stored.read_text())
        if previous != settings:
            changed = sorted(k for k in set(previous) | set(settings) if previous.get(k) != settings.get(k))
            raise RunDirectoryError(run_dir, f"--resume with different settings ({', '.join(changed)})",
                                    "resume with the same files and options, or use a new --run-dir")
        return read_results(run_dir)
    if (run_dir / RESULTS).exists() and not resume:
        raise RunDirectoryError(run_dir, f"already holds a {kind} run",
                                "pass --resume to continue it, or another --run-dir")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_atomic(stored, json.dumps(settings, indent=2))
    except (FileExistsError, NotADirectoryError):
        raise RunDirectoryError(run_dir, "is a file, not a folder", "pass another --run-dir") from None
    except OSError as exc:
        raise RunDirectoryError(run_dir, f"cannot be created or written ({exc.strerror})",
                                "pass a --run-dir in a folder you can write") from None
    return []


def read_results(run_dir: Path) -> list:
    """Every complete line of results.jsonl as a MatchResult (a line cut by an interruption is ignored; a match
    recorded twice counts once)."""
    path = run_dir / RESULTS
    results = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                result = MatchResult.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError):
                continue
            results.setdefault(result.index, result)
    return sorted(results.values(), key=lambda r: r.index)


class ResultsLog:
    """results.jsonl, appended one flushed line per match as it finishes."""

    def __init__(self, run_dir: Path) -> None:
        self._file = (run_dir / RESULTS).open("a")

    def append(self, result: MatchResult) -> None:
        self._file.write(json.dumps(result.to_dict()) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ResultsLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_report(run_dir: Path, report: dict) -> Path:
    path = run_dir / REPORT
    write_atomic(path, json.dumps(report, indent=2))
    return path
