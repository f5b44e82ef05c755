"""What recording "what the model wanted" costs a step: the built default main.py plays the same real observations
with the values behind each action recorded and without, in one run, the two alternating run by run:
- hosted (sandboxed, in kaggle-2020 and current): the wall time of each call as kaggle-environments times it,
  the pipe round trip included (the worker then sends the 19 values with its reply);
- in the match process (`current`, --no-sandbox): one main.py loaded by kaggle-environments' loader, called bare
  or through gfsub's recording agent (harness/wanted.py) around that same instance, in alternating blocks.

    .venv/bin/python benchmarks/bench_wanted.py   # prints the table, writes its section of docs/benchmarks/results.md
    .venv/bin/python benchmarks/bench_wanted.py --quick [--out F]   # 21 calls, one run per mode

A case that fails is a FAILED row with the error's line, and the script then exits 1.

Target (issue 21): under 1 % added to a step.
"""

import argparse
import os
import statistics
import sys
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
from sections import add_common_options, error_line, failed_row, finish, output_file, publish, scratch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "results.md"
RUNTIMES = ("kaggle-2020", "current")
CALLS = 1500
RUNS = 6  # per mode, alternating
BLOCK = 50  # calls per block in the match process
QUICK = {"calls": 21, "runs": 1, "block": 5}
CONFIGURATION = {"actTimeout": 0.5}


def hosted_step(runtime, main_py: Path, observations: list, calls: int, record: bool) -> float:
    """Mean seconds per call after the first, as kaggle-environments' timer sees a hosted agent."""
    with RuntimeAgent(runtime, main_py, Limits(), record_values=record) as agent:
        agent(observations[0], CONFIGURATION)  # step 1: the load
        start = time.perf_counter()
        for observation in observations[1:calls]:
            agent(observation, CONFIGURATION)
        return (time.perf_counter() - start) / (calls - 1)


def in_process_steps(main_py: Path, observations: list, calls: int, block_size: int) -> tuple:
    """In the match process: one main.py loaded by kaggle-environments' loader, its calls made bare (as
    kaggle-environments makes them) or through gfsub's recording agent around the same instance, in alternating
    blocks of the same observation stream; -> (mean s per bare call, per recorded call)."""
    from kaggle_environments.utils import structify

    from common.kaggle import load_like_kaggle

    agent = load_like_kaggle(main_py)
    recorded = recorded_file_agent(str(main_py), [], load=lambda path: agent)
    configuration = structify(CONFIGURATION)
    structified = [structify(o) for o in observations[:calls]]
    recorded(structified[0], configuration)  # step 1: the load
    spent, made = {False: 0.0, True: 0.0}, {False: 0, True: 0}
    for number, block in enumerate(range(1, calls, block_size)):
        record, observations_here = number % 2 == 1, structified[block:block + block_size]
        call = recorded if record else agent
        start = time.perf_counter()
        for observation in observations_here:
            call(observation, configuration)
        spent[record] += time.perf_counter() - start
        made[record] += len(observations_here)
    return spent[False] / made[False], spent[True] / made[True]


def row(label: str, without: float, with_values: float) -> str:
    added = (with_values / without - 1) * 100
    return f"| {label} | {without * 1e3:.3f} | {with_values * 1e3:.3f} | **{added:+.2f} %** |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser, OUT)
    args = parser.parse_args()
    out = output_file(args, OUT)
    calls, runs, block = (QUICK["calls"], QUICK["runs"], QUICK["block"]) if args.quick else (CALLS, RUNS, BLOCK)
    work = scratch("gfsub-bench-wanted-")
    model = make_untrained_model(work / "untrained.keras")
    verified = {"verify": False} if args.quick else {"verify_steps": 50, "targets": "current"}  # the same file
    main_py = build(model, work / "agent" / "main.py", **verified).output
    print("playing one match for its observations...", file=sys.stderr)
    observations = match_observations(calls + 1)
    cases = [(f"{name}, sandboxed", name) for name in RUNTIMES]
    lines = ["| where main.py plays | step without values ms | with values ms | added |", "|---|---|---|---|"]
    failures = []
    for label, name in cases:
        try:
            measure = partial(hosted_step, ensure_runtime(get_spec(name)), main_py, observations, calls)
            times = {False: [], True: []}
            for run in range(runs):
                for record in ((False, True) if run % 2 == 0 else (True, False)):  # paired, alternating
                    times[record].append(measure(record))
            lines.append(row(label, statistics.median(times[False]), statistics.median(times[True])))
        except Exception as error:
            failures.append(f"{label}: {error_line(error)}")
            lines.append(failed_row([label], error_line(error), 4))
        print(lines[-1], file=sys.stderr, flush=True)
    label = "current, in the match process (the same instance, alternating blocks)"
    try:
        measured = [in_process_steps(main_py, observations, calls, block) for _ in range(runs)]
        lines.append(row(label, statistics.median(bare for bare, _ in measured),
                         statistics.median(rec for _, rec in measured)))
    except Exception as error:
        failures.append(f"{label}: {error_line(error)}")
        lines.append(failed_row([label], error_line(error), 4))
    publish(out, "wanted", f"The cost of recording what the model wanted ({time.strftime('%Y-%m-%d')}, "
            f"{os.cpu_count()} cores{', --quick' if args.quick else ''})", [
                f"The built default main.py on {calls} real observations, steps 2.. (median of {runs} runs per mode, "
                "alternating); a step is the call's wall time as kaggle-environments times it. Target: under 1 % "
                "added.", "", *lines])
    finish(failures)


if __name__ == "__main__":
    main()
