"""Matches per hour for one fixed small league, three ways, measured in one run on this machine:
`--jobs 1`, `--jobs 2` (the local pool) and `--ray` on a local 2-node Ray cluster (one CPU per node, in a network
namespace: tests/ray_cluster.py). Targets on a 2-core machine: jobs 2 >= 1.8x jobs 1; Ray within 15 % of jobs 2.

The league: the demo's main.py (the bundled default: the notebook net, numpy backend), its float16 build,
run_right and the engine AI, 2 matches per pair (12 matches) of --steps each. Wall time is the whole
`gfsub league` command, as a user waits for it (participant checks, cluster connection and result writing
included), after one unmeasured warm-up league so that no configuration pays for cold caches.

    .venv/bin/python benchmarks/bench_league.py [--steps 1000]   # prints the table, writes benchmarks/RESULTS.md
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

from benchmarks.sections import publish  # noqa: E402

GFSUB = str(Path(sys.executable).with_name("gfsub"))


def build_candidates(folder: Path) -> list:
    from builder import build
    from gfsub.demo import make_untrained_model

    make_untrained_model(folder / "model.keras")  # the bundled default
    return [str(build(folder / "model.keras", folder / dtype / "main.py", verify_steps=20, weights_dtype=dtype,
                      targets="current").output) for dtype in ("float32", "float16")]


def league_command(candidates: list, steps: int, run_dir: Path, *pool) -> list:
    return [GFSUB, "league", *candidates, "run_right", "--engine", "--matches-per-pair", "2", "--steps", str(steps),
            "--run-dir", str(run_dir), *pool]


def timed(command: list, runner=subprocess.run) -> float:
    start = time.perf_counter()
    out = runner(command, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    from tests.ray_cluster import ray_cluster

    matches = 12
    with tempfile.TemporaryDirectory(prefix="gfsub-bench-league-") as tmp:
        tmp = Path(tmp)
        candidates = build_candidates(tmp)
        timed(league_command(candidates, 50, tmp / "warm-up", "--jobs", "2"))  # caches warm, not measured
        walls = {}
        for jobs in (1, 2):
            walls[f"--jobs {jobs}"] = timed(league_command(candidates, args.steps, tmp / f"jobs{jobs}",
                                                           "--jobs", str(jobs)))
        with ray_cluster(tmp) as cluster:
            walls["--ray (2 nodes x 1 CPU)"] = timed(
                league_command(candidates, args.steps, tmp / "ray", "--ray", cluster.address),
                runner=lambda command, **kw: cluster.run(command, **kw))
    one, two = walls["--jobs 1"], walls["--jobs 2"]
    lines = [f"League of 4 participants (gfsub main.py float32 and float16, run_right, engine AI), {matches} "
             f"matches of {args.steps} steps, on this machine ({os.cpu_count()} cores), measured in one run.", "",
             "| pool | wall s | matches/hour | vs --jobs 1 |", "|---|---|---|---|"]
    for name, wall in walls.items():
        lines.append(f"| {name} | {wall:.1f} | {matches / wall * 3600:.0f} | {one / wall:.2f}x |")
    ray = walls["--ray (2 nodes x 1 CPU)"]
    lines += ["", f"Targets: --jobs 2 >= 1.8x --jobs 1: **{one / two:.2f}x**; Ray within 15 % of --jobs 2: "
              f"**{(ray / two - 1) * 100:+.0f} %** wall time."]
    publish(args.out, "league", "League: matches per hour", lines)


if __name__ == "__main__":
    main()
