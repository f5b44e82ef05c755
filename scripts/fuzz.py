"""The long fuzz run: N mutations of every format gfsub reads, a summary table, docs/benchmarks/fuzz.md.

    python scripts/fuzz.py --mutations 10000 [--formats keras,onnx] [--verify 3] [--jobs 2] [--write-docs]

Each format's mutations run in a fork server of their own (tests/fuzz/server.py), at load level: load, validate,
render and write, in a child process each, within 60 s and an address space capped at 2 GiB over the server's;
`--verify` of those that load per format are then built by the real `gfsub build` with verification (or
replayed, for an episode). Every failure is printed with its mutation, and its folder (the mutated file, the
child's output and log) is kept under `--work` (build/fuzz); the table counts them. Seeds are made once (`--seeds
DIR` keeps them). Exit 1 if any mutation failed.
"""

import argparse
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.formats import FORMATS, make_seeds  # noqa: E402
from tests.fuzz.harness import Row, fuzz_format, table  # noqa: E402

PAGE = ROOT / "docs" / "benchmarks" / "fuzz.md"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutations", type=int, default=200, help="per format")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated, of: " + ", ".join(FORMATS))
    parser.add_argument("--verify", type=int, default=2, help="full verified builds per format, of those that load")
    parser.add_argument("--jobs", type=int, default=1, help="formats fuzzed at once")
    parser.add_argument("--base", type=int, default=0, help="the random generator's base seed")
    parser.add_argument("--seeds", type=Path, help="a folder for the seed files (made if empty)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "fuzz", help="where failed mutations are kept")
    parser.add_argument("--write-docs", action="store_true", help=f"write the table to {PAGE.relative_to(ROOT)}")
    return parser.parse_args()


def run_format(name: str, seeds: Path, work: Path, options: argparse.Namespace) -> tuple:
    start = time.monotonic()
    outcomes = fuzz_format(name, seeds, work / name, options.mutations, options.verify, options.base)
    for outcome in outcomes:
        if outcome.problems():
            print(outcome.report(), flush=True)
    seconds = time.monotonic() - start
    print(f"{name}: {len(outcomes)} runs in {seconds:.0f} s", flush=True)
    return Row(name, outcomes), seconds


def main() -> int:
    options = arguments()
    names = [name for name in options.formats.split(",") if name]
    for name in names:  # the last run's failures of these formats
        shutil.rmtree(options.work / name, ignore_errors=True)
    seeds = options.seeds or options.work / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    if not (seeds / "episode.json").exists():
        make_seeds(seeds)
    start = time.monotonic()
    with ThreadPoolExecutor(options.jobs) as pool:
        done = list(pool.map(lambda name: run_format(name, seeds, options.work, options), names))
    minutes = (time.monotonic() - start) / 60
    rows = [row for row, _ in done]
    text = table(rows)
    print(text)
    print(f"{sum(len(row.outcomes) for row in rows)} runs in {minutes:.1f} min")
    if options.write_docs:
        PAGE.write_text(page(text, options, minutes))
    return 1 if any(outcome.problems() for row in rows for outcome in row.outcomes) else 0


def page(text: str, options: argparse.Namespace, minutes: float) -> str:
    return (PAGE.read_text().split("<!-- table -->")[0] if PAGE.exists() else "# Fuzzing\n\n") + (
        f"<!-- table -->\n`python scripts/fuzz.py --mutations {options.mutations} --verify {options.verify} "
        f"--jobs {options.jobs} --base {options.base}`: {options.mutations} mutations per format, "
        f"{minutes:.0f} min on this machine.\n\n{text}\n")


if __name__ == "__main__":
    sys.exit(main())
