"""Benchmark: per-step latency, step-1 time, size and memory of each kind of main.py, in real matches.

Agents (all from the same seeded default model, the bundled default of `make demo`):
  notebook-predict  the reference notebook's approach: the .keras loaded by Keras' own loader, and TensorFlow's
                    `model.predict` every step on the notebook's input (the SMM / 255, frame-differenced)
  keras             gfsub --backend keras (graph-compiled forward pass)
  numpy-f32         gfsub --backend numpy
  numpy-f16         gfsub --backend numpy --weights-dtype float16
Each plays a match against the engine AI (team_2: 0) in its own subprocess, one after the other, so that
step 1 includes a cold import and peak RSS belongs to that process. Latencies are the per-step durations
kaggle-environments records. The engine-only match (do_nothing) is the baseline for wall-time ratios. An agent that
fails (to build, to load, in a step) is a FAILED row with its error's line, and the script then exits 1.

Run: .venv/bin/python benchmarks/bench_agents.py [--steps 3002]   -> prints a table, writes docs/benchmarks/results.md
     .venv/bin/python benchmarks/bench_agents.py --quick [--out F]  -> 20 steps, main.py built unverified
     --agents numpy-f32,mine=path/to/main.py   plays only these (NAME=PATH: a main.py of your own)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sections import (  # noqa: E402
    add_common_options,
    error_in,
    error_line,
    failed_cell,
    failed_row,
    finish,
    output_file,
    publish,
)

# The reference notebook's agent, written against today's code: its own split layer class (the demo model's,
# registered as gfsub_demo>SplitLayer), Keras' own loader, the notebook's input pipeline (agent_runtime's SMM, / 255,
# minus the previous frame; restarted at a new match) and `model.predict` on each step's single observation.
NOTEBOOK_STYLE_MAIN = '''
import keras
import numpy as np

from agent_runtime.observation import ObservationPipeline


class SplitLayer(keras.layers.Layer):
    def call(self, inputs):
        return keras.ops.split(inputs, inputs.shape[-1], axis=-1)

    def compute_output_spec(self, inputs):
        return [keras.KerasTensor((*inputs.shape[:-1], 1), dtype=inputs.dtype) for _ in range(inputs.shape[-1])]


model = keras.saving.load_model({path!r}, compile=False,
                                custom_objects={{"SplitLayer": SplitLayer, "gfsub_demo>SplitLayer": SplitLayer}})
pipeline = ObservationPipeline([{{"representation": "smm", "scale": 255.0, "diff": True, "stack": 1}}])


def agent(obs):
    x = pipeline(obs)[0]
    return [int(np.argmax(model.predict(x[None], verbose=0)))]
'''
COLUMNS = 10


def run_worker(main_py: str, steps: int) -> None:
    """Inside the subprocess: play one match, print its status, durations, wall time, peak RSS and the agent's
    error line (if it failed) as JSON."""
    from common.kaggle import make_football

    with tempfile.TemporaryDirectory() as logdir:
        env = make_football(steps=steps, team_2=0, logdir=logdir)
        start = time.perf_counter()
        try:
            result = env.run([main_py, "do_nothing"])
        except Exception as error:  # the agent could not even be set up
            print(json.dumps({"status": "FAILED", "error": error_line(error)}))
            return
        wall = time.perf_counter() - start
    logs = [log[0] for log in env.logs if log and isinstance(log[0], dict)]
    durations = [log["duration"] for log in logs if "duration" in log]
    errors = [error_in(log["stderr"], root_cause=True) for log in logs if (log.get("stderr") or "").strip()]
    print(json.dumps({
        "wall": wall, "durations": durations, "status": result[-1][0].status, "error": errors[0] if errors else None,
        "steps": len(result) - 1, "rss_mb": peak_rss_mb(),
    }))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it does not carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(main_py: str, steps: int) -> dict:
    """One match in its own process; -> the worker's result. Raises RuntimeError (the error's line) for a match
    that did not finish with the agent DONE and timed on every step."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--worker", main_py, "--steps", str(steps)],
                          capture_output=True, text=True, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"the match process exited {done.returncode}: {error_in(done.stderr)}")
    result = json.loads(lines[-1])
    if result["status"] != "DONE":
        raise RuntimeError(f"{result['status']}: {result.get('error') or 'no error line'}")
    if len(result["durations"]) < 2:
        raise RuntimeError(f"{len(result['durations'])} timed steps of {result['steps']}: "
                           f"{result.get('error') or 'no error line'}")
    return result


BUILT = {"keras": ("keras", "float32"), "numpy-f32": ("numpy", "float32"), "numpy-f16": ("numpy", "float16")}
AGENTS = ("notebook-predict", *BUILT)


def build_agents(folder: Path, names: list, quick: bool) -> dict:
    """{name: main.py path, or the error's line for a build that failed}: the named agents, in AGENTS' order, then
    any NAME=PATH (a main.py of your own)."""
    from builder import build
    from gfsub.demo import make_untrained_model

    agents = {}
    if set(names) & set(AGENTS):
        weights = make_untrained_model(folder / "model.keras", seed=0)
    if "notebook-predict" in names:
        agents["notebook-predict"] = folder / "main_notebook_predict.py"
        agents["notebook-predict"].write_text(NOTEBOOK_STYLE_MAIN.format(path=str(weights)))
    options = {"verify": False} if quick else {"verify_steps": 30}  # quick: the same main.py, its match the check
    for name, (backend, dtype) in BUILT.items():
        if name not in names:
            continue
        try:
            agents[name] = build(weights, folder / f"main_{name}.py", backend=backend, weights_dtype=dtype,
                                 **options).output
        except Exception as error:
            agents[name] = f"build: {error_line(error)}"
    for name, path in (item.split("=", 1) for item in names if "=" in item):
        agents[name] = Path(path).resolve()
    return agents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=None,
                        help="match length (default 3002, a full Kaggle match; 20 with --quick)")
    parser.add_argument("--agents", default=",".join(AGENTS),
                        help=f"comma-separated agents to play (default: all of {', '.join(AGENTS)}); NAME=PATH plays "
                             "a main.py of your own as NAME")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    add_common_options(parser, ROOT / "docs" / "benchmarks" / "results.md")
    args = parser.parse_args()
    steps = args.steps or (20 if args.quick else 3002)
    if args.worker:
        run_worker(args.worker, steps)
        return
    out = output_file(args, ROOT / "docs" / "benchmarks" / "results.md")
    names = [name for name in args.agents.split(",") if name]
    unknown = [name for name in names if name not in AGENTS and "=" not in name]
    if unknown:
        parser.error(f"unknown agents {unknown}: choose from {', '.join(AGENTS)}, or NAME=PATH")

    failures, rows = [], []
    with tempfile.TemporaryDirectory(prefix="gfsub-bench-") as tmp:
        agents = build_agents(Path(tmp), names, args.quick)
        try:
            baseline = measure("do_nothing", steps)
        except RuntimeError as error:
            baseline = None
            failures.append(f"engine-only: {error}")
        for name, main_py in agents.items():
            try:
                if isinstance(main_py, str):
                    raise RuntimeError(main_py)
                result = measure(str(main_py), steps)
            except RuntimeError as error:
                failures.append(f"{name}: {error}")
                rows.append(failed_row([name], str(error), COLUMNS))
                continue
            later = np.array(result["durations"][1:]) * 1000
            ratio = f"{result['wall'] / baseline['wall']:.2f}x" if baseline else "n/a (engine-only failed)"
            rows.append(f"| {name} | {result['status']} | {np.percentile(later, 50):.2f} | "
                        f"{np.percentile(later, 99):.2f} | {later.max():.1f} | {result['durations'][0]:.2f} | "
                        f"{main_py.stat().st_size / 1e6:.1f} | {result['rss_mb']:.0f} | {result['wall']:.1f} | "
                        f"{ratio} |")
    engine = (f"{baseline['wall']:.1f} s wall, peak RSS {baseline['rss_mb']:.0f} MB" if baseline
              else failed_cell(failures[0]))
    header = (f"Matches of {steps} steps vs the engine AI on this machine ({os.cpu_count()} cores), measured in one "
              f"run{' (--quick)' if args.quick else ''}; engine-only match (do_nothing): {engine}.")
    lines = [header, "",
             "| agent | status | p50 ms | p99 ms | max ms | step 1 s | main.py MB | peak RSS MB | match wall s "
             "| match wall / engine-only |",
             "|---|---|---|---|---|---|---|---|---|---|", *rows]
    publish(out, "agents", "Agents: full matches" if steps >= 3002 else f"Agents: matches of {steps} steps", lines)
    finish(failures)


if __name__ == "__main__":
    main()
