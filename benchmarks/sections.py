"""benchmarks/RESULTS.md holds one section per benchmark; each run replaces only its own section."""

from pathlib import Path


def write_section(path: Path, name: str, text: str) -> None:
    """Replace the text between `<!-- name -->` and `<!-- /name -->` in `path` (append it if absent)."""
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        new = before + block + ("\n" + after if after else "")
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + block
    path.write_text(new)


def publish(path: Path, name: str, title: str, lines: list) -> None:
    """Print a benchmark's table and write it as its section of `path`."""
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(path, name, f"## {title}\n\n{text}")
    print(f"written to {path}")
