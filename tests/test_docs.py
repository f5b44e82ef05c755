"""The README is a front page and every link of it and of the docs stays inside the repository (the docs site itself
is built with `mkdocs build --strict` by `make test`, which checks the links between its pages)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def pages() -> list:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_the_readme_is_a_front_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    for command in ("make demo", "make test", "gfsub build", "gfsub check", "gfsub package"):
        assert command in text, command


def test_every_link_is_a_file_of_the_repository():
    outside = []
    for page in pages():
        for target in LINK.findall(page.read_text()):
            path = target.split("#", 1)[0]
            if not path:  # an anchor on the same page
                continue
            resolved = (page.parent / path).resolve()
            if "://" in target or not resolved.is_relative_to(ROOT) or not resolved.exists():
                outside.append(f"{page.relative_to(ROOT)}: {target}")
    assert outside == []
