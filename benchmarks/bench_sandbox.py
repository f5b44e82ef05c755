"""What the sandbox adds to Kaggle's timing: the per-step pipe round trip and step 1, in and out of it, in one run.

For each runtime (kaggle-2020 and current), the same agents play the same real observations hosted in their own
process, unsandboxed and sandboxed (bubblewrap + cgroups, Kaggle's limits), the two alternating run by run so that
the machine's noise falls on both:
- round trip: a no-op agent answering 2,000 observations; a call's wall time here minus the agent's own time;
- step 1: the built main.py's first call (loading main.py and its first step) as kaggle-environments times it, the
  wall time of that call, median of 5 fresh processes; the process start before it (outside Kaggle's timer) too.

    .venv/bin/python benchmarks/bench_sandbox.py   # prints the table and writes its section of RESULTS.md

Targets (issue 19): under 0.1 ms added to the round trip's p50, under 0.5 s added to step 1.
"""

import os
import statistics
import sys
import tempfile
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
from sections import publish  # noqa: E402

OUT = Path(__file__).with_name("RESULTS.md")
RUNTIMES = ("kaggle-2020", "current")
ROUND_TRIP_CALLS = 2000
STEP1_RUNS = 5
CONFIGURATION = {"actTimeout": 0.5}


def round_trip(runtime, agent_file: Path, observations: list, sandbox) -> np.ndarray:
    with RuntimeAgent(runtime, agent_file, sandbox) as agent:
        for observation in observations[:ROUND_TRIP_CALLS]:
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


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gfsub-bench-sandbox-"))
    model = make_untrained_model(work / "untrained.keras")
    main_py = build(model, work / "agent" / "main.py", verify_steps=50, targets="current").output
    no_op = work / "no_op" / "main.py"
    no_op.parent.mkdir()
    no_op.write_text(NO_OP_AGENT)
    print("playing one match for its observations...", file=sys.stderr)
    observations = match_observations(ROUND_TRIP_CALLS + 2)
    modes = {"unsandboxed": None, "sandboxed": Limits()}
    lines = ["| runtime | | round trip p50 ms | p99 ms | step 1 s (median of 5) | process start s |",
             "|---|---|---|---|---|---|"]
    for name in RUNTIMES:
        runtime = ensure_runtime(get_spec(name))
        trips = {mode: [] for mode in modes}
        firsts = {mode: [] for mode in modes}
        for run in range(STEP1_RUNS):
            order = list(modes) if run % 2 == 0 else list(reversed(modes))  # paired, alternating
            for mode in order:
                firsts[mode].append(first_call(runtime, main_py, observations[0], modes[mode]))
                if run < 2:  # the round trip twice per mode, once in each order
                    trips[mode].append(round_trip(runtime, no_op, observations, modes[mode]))
        rows = {}
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
        print(lines[-3:], file=sys.stderr, flush=True)
    sandbox = Limits()
    publish(OUT, "sandbox", f"Sandbox overhead ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; "
            f"{sandbox.describe()})", [
                f"Round trip: a no-op agent on {ROUND_TRIP_CALLS} real observations (a call's wall time minus the "
                "agent's own). Step 1: the built default main.py's first call, as kaggle-environments times it. "
                "Targets: round trip p50 +0.1 ms or less, step 1 +0.5 s or less.", "", *lines])


if __name__ == "__main__":
    main()
