"""What the benchmark scripts share: where they write (docs/benchmarks/results.md holds one section per benchmark;
each run replaces only its own section), their `--quick` mode, and how a failed row is reported.

`--quick` is each script's smoke run (a few steps, one repeat, the smallest settings, the real engine and runtimes):
`make test` runs it (tests/test_benchmarks.py), so a benchmark that breaks fails CI. A quick run writes its table to
`--out` or to a temporary file, never to the published docs/benchmarks/*.md.

A row whose measurement fails (an agent that does not load, a runtime that errs) is written as a FAILED row with the
error's one line, and the script exits 1 after writing its table: no traceback, the other rows still measured.
"""

import argparse
import atexit
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "benchmarks"


def add_common_options(parser: argparse.ArgumentParser, default_out: Path) -> None:
    """--quick and --out, the same in every script."""
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: a few steps, one repeat, the smallest settings; writes --out or a temporary "
                             "file, never the published docs/benchmarks/")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"the file to write (default: {default_out.relative_to(ROOT)}; with --quick, a "
                             "temporary file)")


def output_file(args: argparse.Namespace, default: Path) -> Path:
    """Where this run writes: --out, else the published file, else (quick) a temporary one; a quick run that names
    a published file is refused (quick numbers must never overwrite published ones)."""
    if args.out is None:
        if not args.quick:
            return default
        return Path(tempfile.mkdtemp(prefix="gfsub-bench-quick-")) / default.name
    out = args.out.resolve()
    if args.quick and (out == PUBLISHED.resolve() or PUBLISHED.resolve() in out.parents):
        sys.exit(f"error: --quick never writes the published {PUBLISHED.relative_to(ROOT)}/: pass another --out")
    return out


def scratch(prefix: str) -> Path:
    """A temporary folder, removed when the script exits (built main.py files are tens of MB each)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def error_line(error: BaseException) -> str:
    """An exception as one line: `Type: first line of its message`."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*): \S")
NOT_ERRORS = {"warning", "info", "debug", "note"}  # log lines shaped like `Type: message`


def error_in(text: str, root_cause: bool = False) -> str:
    """The line that names the error in a process's stderr or a printed traceback: its last `Type: message` line
    (the first: the root cause of a chained traceback), else its last non-empty line."""
    lines = [line.rstrip() for line in (text or "").splitlines() if line.strip()]
    named = [line for line in lines if (found := EXCEPTION_LINE.match(line))
             and found.group(1).lower() not in NOT_ERRORS and not found.group(1).endswith("Warning")]
    if named:
        return named[0] if root_cause else named[-1]
    return lines[-1].strip() if lines else "no error output"


def failed_cell(line: str) -> str:
    """`FAILED: line`, fit for a Markdown table cell."""
    line = " ".join(line.split()).replace("|", "\\|")
    return "FAILED: " + (line if len(line) <= 200 else line[:197] + "...")


def failed_row(first_cells: list, line: str, columns: int) -> str:
    """A table row of `columns` cells: the row's own leading cells, FAILED with the error, empty cells after."""
    cells = [*first_cells, failed_cell(line)]
    return "| " + " | ".join(cells + [""] * (columns - len(cells))) + " |"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


def publish(path: Path, name: str, title: str, lines: list) -> None:
    """Print a benchmark's table and write it as its section of `path`."""
    text = "\n".join(lines) + "\n"
    print(text)
    write_section(path, name, f"## {title}\n\n{text}")
    print(f"written to {path}")


def write_file(path: Path, text: str) -> None:
    """Print a benchmark's page and write it as the whole of `path`."""
    print("\n" + text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"written to {path}")


def finish(failures: list) -> None:
    """After the table is written: exit 1 naming the failed rows, if any."""
    if failures:
        print(f"FAILED rows: {len(failures)}: " + "; ".join(failures), file=sys.stderr)
        sys.exit(1)
