"""Matches per hour for one fixed small league, three ways, measured in one run on this machine:
`--jobs 1`, `--jobs 2` (the local pool) and `--ray` on a local 2-node Ray cluster (one CPU per node, in a network
namespace: tests/ray_cluster.py). Targets on a 2-core machine: jobs 2 >= 1.8x jobs 1; Ray within 15 % of jobs 2.

The league: the demo's main.py (the bundled default: the notebook net, numpy backend), its float16 build,
run_right and the engine AI, 2 matches per pair (12 matches) of --steps each. Wall time is the whole
`gfsub league` command, as a user waits for it (participant checks, cluster connection and result writing
included), after one unmeasured warm-up league so that no configuration pays for cold caches.

    .venv/bin/python benchmarks/bench_league.py [--steps 1000]   # prints the table, writes docs/benchmarks/results.md
    .venv/bin/python benchmarks/bench_league.py --quick [--pools jobs|ray] [--out F]  # 3 matches of 10 steps

A pool whose league fails is a FAILED row with the error's line, and the script then exits 1.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import (  # noqa: E402
    add_common_options,
    error_in,
    error_line,
    failed_row,
    finish,
    output_file,
    publish,
)

GFSUB = str(Path(sys.executable).with_name("gfsub"))
RAY = "--ray (2 nodes x 1 CPU)"


def build_candidates(folder: Path, quick: bool) -> list:
    from builder import build
    from gfsub.demo import make_untrained_model

    make_untrained_model(folder / "model.keras")  # the bundled default
    verified = {"verify": False} if quick else {"verify_steps": 20, "targets": "current"}  # quick: the same file
    dtypes = ("float32",) if quick else ("float32", "float16")
    return [str(build(folder / "model.keras", folder / dtype / "main.py", weights_dtype=dtype, **verified).output)
            for dtype in dtypes]


def league_command(candidates: list, steps: int, per_pair: int, run_dir: Path, *pool) -> list:
    return [GFSUB, "league", *candidates, "run_right", "--engine", "--matches-per-pair", str(per_pair), "--steps",
            str(steps), "--run-dir", str(run_dir), *pool]


def timed(command: list, runner=subprocess.run) -> float:
    """The command's wall time; RuntimeError with its error's line if it failed."""
    start = time.perf_counter()
    out = runner(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"gfsub league exited {out.returncode}: {error_in(out.stderr or out.stdout)}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None, help="steps per match (default 1000; 10 with --quick)")
    parser.add_argument("--pools", choices=("all", "jobs", "ray"), default="all",
                        help="which pools: all (default), jobs (--jobs 1 and 2) or ray (the 2-node cluster)")
    add_common_options(parser, ROOT / "docs" / "benchmarks" / "results.md")
    args = parser.parse_args()
    out = output_file(args, ROOT / "docs" / "benchmarks" / "results.md")
    steps = args.steps or (10 if args.quick else 1000)
    per_pair = 1 if args.quick else 2

    walls, failures = {}, {}
    with tempfile.TemporaryDirectory(prefix="gfsub-bench-league-") as tmp:
        tmp = Path(tmp)
        candidates = build_candidates(tmp, args.quick)
        participants = len(candidates) + 2  # and run_right, the engine AI
        matches = participants * (participants - 1) // 2 * per_pair
        if not args.quick:  # caches warm, not measured
            timed(league_command(candidates, 50, 2, tmp / "warm-up", "--jobs", "2"))
        if args.pools in ("all", "jobs"):
            for jobs in (1, 2):
                try:
                    walls[f"--jobs {jobs}"] = timed(league_command(candidates, steps, per_pair, tmp / f"jobs{jobs}",
                                                                   "--jobs", str(jobs)))
                except RuntimeError as error:
                    failures[f"--jobs {jobs}"] = str(error)
        if args.pools in ("all", "ray"):
            try:
                walls[RAY] = ray_league(tmp, league_command(candidates, steps, per_pair, tmp / "ray", "--ray"))
            except Exception as error:
                failures[RAY] = error if isinstance(error, RuntimeError) else error_line(error)
    who = "float32 and float16" if len(candidates) == 2 else "float32"
    lines = [f"League of {participants} participants (gfsub main.py {who}, run_right, engine AI), {matches} "
             f"matches of {steps} steps, on this machine ({os.cpu_count()} cores), measured in one run"
             f"{' (--quick)' if args.quick else ''}.", "",
             "| pool | wall s | matches/hour | vs --jobs 1 |", "|---|---|---|---|"]
    one, two = walls.get("--jobs 1"), walls.get("--jobs 2")
    for name in [n for n in ("--jobs 1", "--jobs 2", RAY) if n in walls or n in failures]:
        if name in failures:
            lines.append(failed_row([name], str(failures[name]), 4))
            continue
        wall = walls[name]
        lines.append(f"| {name} | {wall:.1f} | {matches / wall * 3600:.0f} | "
                     + (f"{one / wall:.2f}x |" if one else "n/a |"))
    targets = []
    if one and two:
        targets.append(f"--jobs 2 >= 1.8x --jobs 1: **{one / two:.2f}x**")
    if two and RAY in walls:
        targets.append(f"Ray within 15 % of --jobs 2: **{(walls[RAY] / two - 1) * 100:+.0f} %** wall time")
    if targets:
        lines += ["", "Targets: " + "; ".join(targets) + "."]
    publish(out, "league", "League: matches per hour", lines)
    finish([f"{name}: {line}" for name, line in failures.items()])


def ray_league(tmp: Path, command: list) -> float:
    """The league on a local 2-node Ray cluster started for it (tests/ray_cluster.py); -> its wall time."""
    from tests.ray_cluster import ray_cluster

    with ray_cluster(tmp) as cluster:
        return timed([*command, cluster.address], runner=lambda c, **kw: cluster.run(c, **kw))


if __name__ == "__main__":
    main()
