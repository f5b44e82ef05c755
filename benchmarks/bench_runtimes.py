"""Per-runtime speed of main.py: step 1 and per-step p50/p99 in every target runtime, plus the pipe's round trip.

One real 3002-step match (run_right vs the engine AI) gives 3001 observations. The bundled default model (the
notebook net, 7.3 M parameters) is built once per backend; each main.py then replays those observations inside
each runtime that can run it (its own interpreter and packages, main.py loaded by the runtime's loader rules),
timed inside the runtime: step 1 is loading main.py plus its first step. The round trip is what `gfsub check
--runtime` adds to each step Kaggle times: a call through the pipe minus the agent's own time, measured with
an agent that returns at once.

    .venv/bin/python benchmarks/bench_runtimes.py   # prints the table and writes docs/benchmarks/runtimes.md
    .venv/bin/python benchmarks/bench_runtimes.py --quick [--out F]   # 20 observations, main.py built unverified

A runtime or backend that fails is a FAILED row with the error's line, and the script then exits 1.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import (  # noqa: E402
    add_common_options,
    error_line,
    failed_row,
    finish,
    output_file,
    scratch,
    write_file,
)
from builder import build  # noqa: E402
from gfsub.demo import make_untrained_model  # noqa: E402
from runtimes.hosted import RuntimeAgent  # noqa: E402
from runtimes.registry import ensure_runtime, load_specs  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "runtimes.md"
NO_OP_AGENT = "def agent(obs, config=None):\n    return [0]\n"
QUICK_STEPS = 20


def match_observations(steps: int = 3002) -> list:
    from common.kaggle import make_football

    env = make_football(steps=steps - 1, team_2=0, logdir=str(scratch("gfsub-bench-match-")))
    return [step[0].observation for step in env.run(["run_right", "do_nothing"])[:-1]]


def replay_row(runtime, main_py: Path, observations: list) -> dict:
    with RuntimeAgent(runtime, main_py) as agent:
        result = agent.replay(observations, {"actTimeout": 0.5})
    later = np.asarray(result.seconds[1:])
    return {"step1": result.seconds[0], "p50": np.percentile(later, 50), "p99": np.percentile(later, 99)}


def round_trip(runtime, agent_file: Path, observations: list) -> tuple:
    with RuntimeAgent(runtime, agent_file) as agent:
        for observation in observations:
            agent(observation, {"actTimeout": 0.5})
        overhead = np.asarray(agent.stats.overhead[1:])
    return np.percentile(overhead, 50), np.percentile(overhead, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser, OUT)
    args = parser.parse_args()
    out = output_file(args, OUT)
    work = scratch("gfsub-bench-runtimes-")
    model = make_untrained_model(work / "untrained.keras")
    # Every runtime `gfsub runtime create` makes (on-demand ones are made only for files of their version).
    specs = [spec for spec in load_specs().values() if not spec.on_demand]
    verified = {"verify": False} if args.quick else {"verify_steps": 50, "targets": "current"}  # the same file
    main_pys = {backend: build(model, work / f"main-{backend}.py", backend=backend, **verified).output
                for backend in ("numpy", "keras")}
    print("playing one match for its observations...", file=sys.stderr)
    observations = match_observations(QUICK_STEPS + 1 if args.quick else 3002)
    no_op = work / "no_op.py"
    no_op.write_text(NO_OP_AGENT)

    lines = ["| runtime | versions | backend | step 1 s | p50 ms | p99 ms | pipe round trip p50 / p99 ms |",
             "|---|---|---|---|---|---|---|"]
    failures = []
    for spec in specs:
        try:
            runtime = ensure_runtime(spec)
            trip50, trip99 = round_trip(runtime, no_op, observations)
        except Exception as error:
            failures.append(f"{spec.name}: {error_line(error)}")
            lines.append(failed_row([spec.name, "", "all"], error_line(error), 7))
            continue
        trip = f"{trip50 * 1e3:.3f} / {trip99 * 1e3:.3f}"
        for backend in ("numpy", "keras"):
            if backend not in runtime.spec.backends:
                continue
            try:
                row = replay_row(runtime, main_pys[backend], observations)
            except Exception as error:
                failures.append(f"{spec.name} {backend}: {error_line(error)}")
                lines.append(failed_row([runtime.name, runtime.describe(), backend], error_line(error), 7))
                continue
            lines.append(f"| {runtime.name} | {runtime.describe()} | {backend} | {row['step1']:.2f} | "
                         f"{row['p50'] * 1e3:.2f} | {row['p99'] * 1e3:.2f} | {trip} |")
            print(lines[-1], flush=True)
    write_file(out, f"# main.py per runtime ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores"
               f"{', --quick' if args.quick else ''})\n\n"
               f"{len(observations)} observations of one real match replayed through main.py inside each runtime "
               "(notebook net, 7.3 M parameters, float32 weights); per-step times are the agent call measured inside "
               "the runtime (SMM drawing, frame difference, forward pass); step 1 includes loading main.py. The pipe "
               "round trip is what `gfsub check --runtime` adds to each timed step (no-op agent).\n\n"
               + "\n".join(lines) + "\n")
    finish(failures)


if __name__ == "__main__":
    main()
