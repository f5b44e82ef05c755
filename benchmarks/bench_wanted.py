"""What recording "what the model wanted" costs a step: the built default main.py plays the same real observations
with the values behind each action recorded and without, in one run, the two alternating run by run:
- hosted (sandboxed, in kaggle-2020 and current): the wall time of each call as kaggle-environments times it,
  the pipe round trip included (the worker then sends the 19 values with its reply);
- in the match process (`current`, --no-sandbox): kaggle-environments' own loader's agent against gfsub's
  recording one (harness/wanted.py), each call timed as kaggle-environments times it.

    .venv/bin/python benchmarks/bench_wanted.py   # prints the table and writes its section of RESULTS.md

Target (issue 21): under 1 % added to a step.
"""

import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from builder import build  # noqa: E402
from gfsub.demo import make_untrained_model  # noqa: E402
from harness.wanted import recorded_file_agent  # noqa: E402
from runtimes.hosted import RuntimeAgent  # noqa: E402
from runtimes.registry import ensure_runtime, get_spec  # noqa: E402
from runtimes.sandbox import Limits  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_runtimes import match_observations  # noqa: E402
from sections import publish  # noqa: E402

OUT = Path(__file__).with_name("RESULTS.md")
RUNTIMES = ("kaggle-2020", "current")
CALLS = 1500
RUNS = 6  # per mode, alternating
CONFIGURATION = {"actTimeout": 0.5}


def hosted_step(runtime, main_py: Path, observations: list, record: bool) -> float:
    """Mean seconds per call after the first, as kaggle-environments' timer sees a hosted agent."""
    with RuntimeAgent(runtime, main_py, Limits(), record_values=record) as agent:
        agent(observations[0], CONFIGURATION)  # step 1: the load
        start = time.perf_counter()
        for observation in observations[1:CALLS]:
            agent(observation, CONFIGURATION)
        return (time.perf_counter() - start) / (CALLS - 1)


def in_process_step(main_py: Path, observations: list, record: bool) -> float:
    """The same in the match process: kaggle-environments' own agent for a path, or gfsub's recording one."""
    from kaggle_environments.agent import build_agent
    from kaggle_environments.utils import structify

    agent = recorded_file_agent(str(main_py), []) if record else build_agent(str(main_py), {}, "football")[0]
    configuration = structify(CONFIGURATION)
    structified = [structify(o) for o in observations[:CALLS]]
    agent(structified[0], configuration)
    start = time.perf_counter()
    for observation in structified[1:]:
        agent(observation, configuration)
    return (time.perf_counter() - start) / (CALLS - 1)


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="gfsub-bench-wanted-"))
    model = make_untrained_model(work / "untrained.keras")
    main_py = build(model, work / "agent" / "main.py", verify_steps=50, targets="current").output
    print("playing one match for its observations...", file=sys.stderr)
    observations = match_observations(CALLS + 1)
    cases = []
    for name in RUNTIMES:
        runtime = ensure_runtime(get_spec(name))
        cases.append((f"{name}, sandboxed", partial(hosted_step, runtime, main_py, observations)))
    cases.append(("current, in the match process", partial(in_process_step, main_py, observations)))
    lines = ["| where main.py plays | step without values ms | with values ms | added |", "|---|---|---|---|"]
    for label, measure in cases:
        times = {False: [], True: []}
        for run in range(RUNS):
            for record in ((False, True) if run % 2 == 0 else (True, False)):  # paired, alternating
                times[record].append(measure(record))
        without, with_values = statistics.median(times[False]), statistics.median(times[True])
        lines.append(f"| {label} | {without * 1e3:.3f} | {with_values * 1e3:.3f} | "
                     f"**{(with_values / without - 1) * 100:+.2f} %** |")
        print(lines[-1], file=sys.stderr, flush=True)
    publish(OUT, "wanted", f"The cost of recording what the model wanted ({time.strftime('%Y-%m-%d')}, "
            f"{os.cpu_count()} cores)", [
                f"The built default main.py on {CALLS} real observations, steps 2.. (median of {RUNS} runs per mode, "
                "alternating); a step is the call's wall time as kaggle-environments times it. Target: under 1 % "
                "added.", "", *lines])


if __name__ == "__main__":
    main()
