"""report.html of a real check and a real league, opened in headless Chromium (Debian's, driven by playwright):
plots drawn (non-blank), no console error, no request leaving the file, and the replay follows a click on the
step-time plot. `gfsub report RUN_DIR` rebuilds the page."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pages import Page

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

def gfsub(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfsub.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """A check (a tiny main.py vs the engine AI, both sides, 60 steps, episodes kept) and a league."""
    folder = tmp_path_factory.mktemp("html")
    (folder / "main.py").write_text("import random\n\n\ndef agent(obs, config=None):\n"
                                    "    return [random.randrange(19)]\n")
    check = gfsub("check", "main.py", "--matches", "2", "--steps", "60", "--run-dir", "check",
                  cwd=folder)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().splitlines()[-1] == "html report: check/report.html", "printed last"
    league = gfsub("league", "main.py", "run_right", "--engine", "--matches-per-pair", "2", "--steps", "20",
                   "--run-dir", "league", cwd=folder)
    assert league.returncode == 0, league.stdout + league.stderr
    assert league.stdout.strip().splitlines()[-1] == "html report: league/report.html"
    return folder


def test_the_check_page_draws_every_plot_and_a_replay_offline(runs, browser, tmp_path):
    page = Page(browser, runs / "check" / "report.html")
    ids = page.plot_ids()
    assert set(ids) == {"win-rate", *(f"m{i}-{kind}" for i in (0, 1) for kind in ("steps", "histogram", "overage"))}
    for plot in ids:
        assert page.colours_in(f"#{plot}") > 20, f"plot {plot} is blank"
    assert page.colours_in("#m0-replay canvas") > 5, "the replay's pitch is drawn"
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)
    assert "PASS" in page.page.inner_text("h1")
    assert "no Q-values: not a gfsub main.py" in page.page.inner_text("#match-0"), "a hand-written agent has none"
    provenance = page.page.inner_text("table")
    assert "not built by gfsub" in provenance and "current (Python" in provenance  # the runtime it ran in
    page.page.screenshot(path=str(tmp_path / "check.png"), full_page=True)
    assert (tmp_path / "check.png").stat().st_size > 50_000


def test_a_click_on_the_step_time_plot_moves_the_replay_to_that_step(runs, browser):
    page = Page(browser, runs / "check" / "report.html")
    info = page.page.locator("#m0-replay .info")
    assert info.inner_text().startswith("step 1 ")
    page.click_point("m0-steps", "m0-replay", 31)
    page.page.click("#m0-replay button")  # play ...
    page.page.wait_for_timeout(500)
    page.page.click("#m0-replay button")  # ... and pause
    step = int(info.inner_text().split()[1])
    assert step > 31 and page.errors == []


def test_the_league_page_draws_ratings_and_the_pairwise_heatmap_offline(runs, browser, tmp_path):
    page = Page(browser, runs / "league" / "report.html")
    assert set(page.plot_ids()) == {"standings", "pairs"}
    for plot in ("standings", "pairs"):
        assert page.colours_in(f"#{plot}") > 20, f"plot {plot} is blank"
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)
    assert "run_right" in page.page.inner_text("body") and "engine" in page.page.inner_text("body")


def test_gfsub_report_rebuilds_the_page_and_names_a_bad_folder(runs, tmp_path):
    page = runs / "check" / "report.html"
    page.unlink()
    out = gfsub("report", "check", cwd=runs)
    assert out.returncode == 0 and page.exists() and "html report: check/report.html" in out.stdout
    bad = gfsub("report", str(tmp_path), cwd=runs)
    assert bad.returncode == 2 and "not a check, league or replay run directory" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
