"""report.html of any run directory: a check's, a league's or a replay's, rebuilt from the files it holds."""

import json
from pathlib import Path

from common.errors import RunDirectoryError
from harness.check import CheckConfig, build_report
from harness.html_report import check_page, league_page
from harness.league import LeagueConfig, build_league_report
from harness.replay import REPLAY_SETTINGS, read_report
from harness.replay_page import replay_page
from harness.rundir import REPORT, RUN_CONFIG, read_results


def rebuild(run_dir: Path) -> Path:
    """report.html of a check, league or replay run directory, from what it holds (older runs too)."""
    if (run_dir / REPLAY_SETTINGS).exists():
        return replay_page(run_dir, read_report(run_dir))
    settings_path = run_dir / RUN_CONFIG
    try:
        settings = json.loads(settings_path.read_text())
    except (OSError, ValueError):
        raise RunDirectoryError(run_dir, f"holds no readable {RUN_CONFIG}: not a check, league or replay run "
                                "directory", "pass the --run-dir of a `gfsub check`, `league` or `replay` run"
                                ) from None
    previous = {}
    if (run_dir / REPORT).exists():
        try:
            previous = json.loads((run_dir / REPORT).read_text())
        except ValueError:
            previous = {}
    results = read_results(run_dir)
    if "participants" in settings:
        report = build_league_report(LeagueConfig(**settings), results, bool(previous.get("interrupted")))
        return league_page(run_dir, report)
    report = build_report(CheckConfig(**settings), results, previous.get("verdict") == "INTERRUPTED")
    return check_page(run_dir, report, results)
