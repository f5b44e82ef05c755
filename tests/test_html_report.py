"""report.html of a real check and a real league, opened in headless Chromium (Debian's, driven by playwright):
plots drawn (non-blank), no console error, no request leaving the file, and the replay follows a click on the
step-time plot. `gfsub report RUN_DIR` rebuilds the page."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


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


class Page:
    """One page in headless Chromium, with its console errors and every request it made."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.errors, self.requests = [], []
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else 0)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("body[data-rendered='1']", timeout=60_000)

    def plot_ids(self) -> list:
        return self.page.eval_on_selector_all(".js-plotly-plot", "nodes => nodes.map(n => n.id)")

    def colours_in(self, selector: str) -> int:
        """Distinct colours in a screenshot of the element: a blank plot has one or two."""
        shot = Image.open(io.BytesIO(self.page.locator(selector).screenshot())).convert("RGB")
        return len(shot.getcolors(maxcolors=1 << 24))


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_check_page_draws_every_plot_and_a_replay_offline(runs, browser, tmp_path):
    page = Page(browser, runs / "check" / "report.html")
    ids = page.plot_ids()
    assert set(ids) == {"win-rate", *(f"m{i}-{kind}" for i in (0, 1) for kind in ("steps", "histogram", "overage"))}
    for plot in ids:
        assert page.colours_in(f"#{plot}") > 20, f"plot {plot} is blank"
    assert page.colours_in("#m0-replay canvas") > 5, "the replay's pitch is drawn"
    assert page.errors == [] and page.requests == [page.url], (page.errors, page.requests)
    assert "PASS" in page.page.inner_text("h1")
    provenance = page.page.inner_text("table")
    assert "not built by gfsub" in provenance and "current (Python" in provenance  # the runtime it ran in
    page.page.screenshot(path=str(tmp_path / "check.png"), full_page=True)
    assert (tmp_path / "check.png").stat().st_size > 50_000


def test_a_click_on_the_step_time_plot_moves_the_replay_to_that_step(runs, browser):
    page = Page(browser, runs / "check" / "report.html")
    info = page.page.locator("#m0-replay .info")
    assert info.inner_text().startswith("step 1 ")
    point = page.page.locator("#m0-steps .scatterlayer .trace").first.locator("path.point").nth(29)  # step 31
    box = point.bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.page.wait_for_function("document.querySelector('#m0-replay .info').textContent.startsWith('step 31 ')",
                                timeout=5_000)
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
    assert bad.returncode == 2 and "not a check or league run directory" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
