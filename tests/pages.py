"""report.html pages opened in headless Chromium (Debian's, driven by playwright), for the tests of every page."""

import io
from pathlib import Path

from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


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

    def click_point(self, plot: str, replay: str, step: int) -> None:
        """Click the marker of `step` (the plot's first trace holds steps 2.. or 1..) and wait for `replay` there."""
        trace = self.page.locator(f"#{plot} .scatterlayer .trace").first
        first_step = self.page.evaluate(f"document.getElementById('{plot}').data[0].x[0]")
        box = trace.locator("path.point").nth(step - first_step).bounding_box()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.wait_for_function(f"document.querySelector('#{replay} .info').textContent.startsWith('step {step} ')",
                                    timeout=5_000)
