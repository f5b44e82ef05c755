"""Benchmark: per-step latency, step-1 time, size and memory of each kind of main.py, in real matches.

Agents (all from the same seeded default model):
  notebook-predict  the reference notebook's approach: TensorFlow + `model.predict` every step
  keras             gfsub --backend keras (graph-compiled forward pass)
  numpy-f32         gfsub --backend numpy
  numpy-f16         gfsub --backend numpy --weights-dtype float16
Each plays a match against the engine AI (team_2: 0) in its own subprocess, one after the other, so that
step 1 includes a cold import and peak RSS belongs to that process. Latencies are the per-step durations
kaggle-environments records. The engine-only match (do_nothing) is the baseline for wall-time ratios.

Run: .venv/bin/python benchmarks/bench_agents.py [--steps 3002]   -> prints a table, writes benchmarks/RESULTS.md
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

from benchmarks.sections import publish  # noqa: E402

NOTEBOOK_STYLE_MAIN = '''
import numpy as np
import keras
from agent_runtime.keras_model import SplitLayer, DuelingMerge
from agent_runtime.observation import FrameDifference

model = keras.saving.load_model({path!r}, custom_objects={{"SplitLayer": SplitLayer, "DuelingMerge": DuelingMerge}})
frames = FrameDifference()


def agent(obs):
    x = frames.push_raw(obs["players_raw"][0])
    return [int(np.argmax(model.predict(x[None], verbose=0)))]
'''


def run_worker(main_py: str, steps: int) -> None:
    """Inside the subprocess: play one match, print durations, wall time and peak RSS as JSON."""
    from common.kaggle import make_football

    with tempfile.TemporaryDirectory() as logdir:
        env = make_football(steps=steps, team_2=0, logdir=logdir)
        start = time.perf_counter()
        result = env.run([main_py, "do_nothing"])
        wall = time.perf_counter() - start
    durations = [log[0]["duration"] for log in env.logs if log and isinstance(log[0], dict) and "duration" in log[0]]
    print(json.dumps({
        "wall": wall, "durations": durations, "status": result[-1][0].status,
        "rss_mb": peak_rss_mb(),
    }))


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; unlike ru_maxrss it does not carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(main_py: str, steps: int) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, "--worker", main_py, "--steps", str(steps)],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_agents(folder: Path) -> dict:
    from builder import build
    from gfsub.demo import make_untrained_model

    weights = make_untrained_model(folder / "model.keras", seed=0)
    agents = {}
    for name, backend, dtype in (("keras", "keras", "float32"), ("numpy-f32", "numpy", "float32"),
                                 ("numpy-f16", "numpy", "float16")):
        agents[name] = build(weights, folder / f"main_{name}.py", verify_steps=30, backend=backend,
                             weights_dtype=dtype).output
    reference = folder / "main_notebook_predict.py"
    reference.write_text(NOTEBOOK_STYLE_MAIN.format(path=str(weights)))
    return {"notebook-predict": reference, **agents}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3002, help="match length (3002 is a full Kaggle match)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.steps)
        return

    with tempfile.TemporaryDirectory(prefix="gfsub-bench-") as tmp:
        agents = build_agents(Path(tmp))
        baseline = measure("do_nothing", args.steps)
        rows = []
        for name, main_py in agents.items():
            result = measure(str(main_py), args.steps)
            later = np.array(result["durations"][1:]) * 1000
            rows.append({
                "agent": name, "status": result["status"],
                "p50": np.percentile(later, 50), "p99": np.percentile(later, 99), "max": later.max(),
                "step1": result["durations"][0], "size_mb": main_py.stat().st_size / 1e6,
                "rss_mb": result["rss_mb"], "ratio": result["wall"] / baseline["wall"],
            })
    header = (f"Matches of {args.steps} steps vs the engine AI on this machine ({os.cpu_count()} cores); "
              f"engine-only match (do_nothing): {baseline['wall']:.1f} s wall, peak RSS {baseline['rss_mb']:.0f} MB.")
    lines = [header, "",
             "| agent | status | p50 ms | p99 ms | max ms | step 1 s | main.py MB | peak RSS MB "
             "| match wall / engine-only |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['agent']} | {r['status']} | {r['p50']:.2f} | {r['p99']:.2f} | {r['max']:.1f} | "
                     f"{r['step1']:.2f} | {r['size_mb']:.1f} | {r['rss_mb']:.0f} | {r['ratio']:.2f}x |")
    publish(args.out, "agents", "Agents: full matches", lines)


if __name__ == "__main__":
    main()
