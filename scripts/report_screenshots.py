"""Screenshots of report.html pages for the README (docs/*.png), in headless Chromium like the tests.

    .venv/bin/python scripts/report_screenshots.py demo/check docs/check-report.png demo/league docs/league-report.png
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(pairs: list) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for run_dir, output in zip(pairs[::2], pairs[1::2], strict=True):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto((Path(run_dir) / "report.html").resolve().as_uri())
            page.wait_for_selector("body[data-rendered='1']", timeout=60_000)
            if page.locator("#m0-replay").count():  # show the replay mid-match
                page.evaluate("document.querySelector('#m0-replay input').value = 1500;"
                              "document.querySelector('#m0-replay input').dispatchEvent(new Event('input'))")
            page.wait_for_timeout(500)
            page.screenshot(path=output, full_page=True)
            print(f"wrote {output}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
