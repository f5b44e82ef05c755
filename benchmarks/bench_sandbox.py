"""What the sandbox adds to Kaggle's timing: the per-step pipe round trip and step 1, in and out of it, in one run.

For each runtime (kaggle-2020 and current), the same agents play the same real observations hosted in their own
process, unsandboxed and sandboxed (bubblewrap + cgroups, Kaggle's limits), the two alternating run by run so that
the machine's noise falls on both:
- round trip: a no-op agent answering 2,000 observations; a call's wall time here minus the agent's own time;
- step 1: the built main.py's first call (loading main.py and its first step) as kaggle-environments times it, the
  wall time of that call, median of 5 fresh processes; the process start before it (outside Kaggle's timer) too.

    .venv/bin/python benchmarks/bench_sandbox.py   # prints the table, writes its section of docs/benchmarks/results.md
    .venv/bin/python benchmarks/bench_sandbox.py --quick [--out F]   # 20 calls, one process per mode

A runtime whose agents fail is a FAILED row with the error's line, and the script then exits 1.

Targets (issue 19): under 0.1 ms added to the round trip's p50, under 0.5 s added to step 1.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from builder import build  # noqa: E402
from gfsub.demo import make_untrained_model  # noqa: E402
from runtimes.hosted import RuntimeAgent  # noqa: E402
from runtimes.registry import ensure_runtime, get_spec  # noqa: E402
from runtimes.sandbox import Limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtimes import NO_OP_AGENT, match_observations  # noqa: E402
from sections import add_common_options, error_line, failed_row, finish, output_file, publish, scratch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "results.md"
RUNTIMES = ("kaggle-2020", "current")
ROUND_TRIP_CALLS = 2000
STEP1_RUNS = 5
QUICK = {"round_trip_calls": 20, "step1_runs": 1}
CONFIGURATION = {"actTimeout": 0.5}


def round_trip(runtime, agent_file: Path, observations: list, sandbox, calls: int) -> np.ndarray:
    with RuntimeAgent(runtime, agent_file, sandbox) as agent:
        for observation in observations[:calls]:
            agent(observation, CONFIGURATION)
        return np.asarray(agent.stats.overhead[1:])


def first_call(runtime, main_py: Path, observation: dict, sandbox) -> tuple:
    """(process start s, step 1 s: the first call's wall time, which loads main.py)."""
    agent = RuntimeAgent(runtime, main_py, sandbox)
    try:
        agent.start()
        start = time.perf_counter()
        agent(observation, CONFIGURATION)
        return agent.start_seconds, time.perf_counter() - start
    finally:
        agent.close()


def runtime_rows(name: str, main_py: Path, no_op: Path, observations: list, modes: dict, calls: int,
                 step1_runs: int) -> list:
    """The runtime's rows: one per mode, then what the sandbox added."""
    runtime = ensure_runtime(get_spec(name))
    trips = {mode: [] for mode in modes}
    firsts = {mode: [] for mode in modes}
    for run in range(step1_runs):
        order = list(modes) if run % 2 == 0 else list(reversed(modes))  # paired, alternating
        for mode in order:
            firsts[mode].append(first_call(runtime, main_py, observations[0], modes[mode]))
            if run < 2:  # the round trip twice per mode, once in each order
                trips[mode].append(round_trip(runtime, no_op, observations, modes[mode], calls))
    rows, lines = {}, []
    for mode in modes:
        trip = np.concatenate(trips[mode])
        rows[mode] = (np.percentile(trip, 50) * 1e3, np.percentile(trip, 99) * 1e3,
                      statistics.median(s for _, s in firsts[mode]),
                      statistics.median(s for s, _ in firsts[mode]))
        p50, p99, step1, started = rows[mode]
        lines.append(f"| {name} ({runtime.describe()}) | {mode} | {p50:.3f} | {p99:.3f} | {step1:.3f} | "
                     f"{started:.2f} |")
    added = [rows["sandboxed"][i] - rows["unsandboxed"][i] for i in range(4)]
    lines.append(f"| {name} | **added** | **{added[0]:+.3f}** | {added[1]:+.3f} | **{added[2]:+.3f}** | "
                 f"{added[3]:+.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser, OUT)
    args = parser.parse_args()
    out = output_file(args, OUT)
    calls = QUICK["round_trip_calls"] if args.quick else ROUND_TRIP_CALLS
    step1_runs = QUICK["step1_runs"] if args.quick else STEP1_RUNS
    work = scratch("gfsub-bench-sandbox-")
    model = make_untrained_model(work / "untrained.keras")
    verified = {"verify": False} if args.quick else {"verify_steps": 50, "targets": "current"}  # the same file
    main_py = build(model, work / "agent" / "main.py", **verified).output
    no_op = work / "no_op" / "main.py"
    no_op.parent.mkdir()
    no_op.write_text(NO_OP_AGENT)
    print("playing one match for its observations...", file=sys.stderr)
    observations = match_observations(calls + 2)
    modes = {"unsandboxed": None, "sandboxed": Limits()}
    lines = [f"| runtime | | round trip p50 ms | p99 ms | step 1 s (median of {step1_runs}) | process start s |",
             "|---|---|---|---|---|---|"]
    failures = []
    for name in RUNTIMES:
        try:
            lines += runtime_rows(name, main_py, no_op, observations, modes, calls, step1_runs)
        except Exception as error:
            failures.append(f"{name}: {error_line(error)}")
            lines.append(failed_row([name], error_line(error), 6))
        print(lines[-3:], file=sys.stderr, flush=True)
    sandbox = Limits()
    publish(out, "sandbox", f"Sandbox overhead ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
            f"{sandbox.describe()}{'; --quick' if args.quick else ''})", [
                f"Round trip: a no-op agent on {calls} real observations (a call's wall time minus the "
                "agent's own). Step 1: the built default main.py's first call, as kaggle-environments times it. "
                "Targets: round trip p50 +0.1 ms or less, step 1 +0.5 s or less.", "", *lines])
    finish(failures)


if __name__ == "__main__":
    main()
