"""Forward pass side by side on the same real observations: dense numpy, incremental numpy, Keras, TFLite.

One real match (run_right vs the engine AI) gives 3,001 model inputs of the notebook net (7.3 M parameters, the
bundled default's seeded initialisation). Each forward is timed on every input in turn, in one process, one after
the other per input so that machine noise hits all alike; a full agent step (SMM drawing, frame difference,
forward) is timed for both numpy paths. The same numpy comparison also runs inside the kaggle-2020 runtime
(numpy 1.18.5), where agent_runtime's modules are imported from this checkout.

    .venv/bin/python benchmarks/bench_forward.py     # prints the table and writes benchmarks/FORWARD.md
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).with_name("FORWARD.md")

# Runs in any runtime with numpy: agent_runtime only (Python 3.7+, numpy 1.16+).
NUMPY_TIMING = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from agent_runtime.architecture import Architecture
from agent_runtime.incremental import IncrementalForward
from agent_runtime.numpy_model import NumpySplitterConvNN
data = np.load(sys.argv[2])
arch = Architecture()
names = [name + "/" + var for name, shapes in arch.layer_shapes() for var in ("kernel", "bias")]
network = NumpySplitterConvNN(arch, [(n, data["w%d" % i]) for i, n in enumerate(names)])
incremental = IncrementalForward(network)
inputs = data["inputs"]
dense_t, inc_t, fractions, worst = [], [], [], 0.0
for x in inputs:
    start = time.perf_counter(); a = network(x); dense_t.append(time.perf_counter() - start)
    start = time.perf_counter(); b = incremental(x); inc_t.append(time.perf_counter() - start)
    fractions.append(incremental.last_changed_fraction)
    worst = max(worst, float(np.max(np.abs(a - b))))
print(json.dumps({"dense": dense_t, "incremental": inc_t, "fractions": fractions, "worst": worst,
                  "numpy": np.__version__, "python": sys.version.split()[0]}))
"""


def match_inputs(steps: int = 3002) -> tuple:
    """Model inputs and raw observations of one real match, through the reference pipeline."""
    from builder.verify import pipeline_inputs
    from harness.environment import make_football

    env = make_football(steps=steps - 1, team_2=0, logdir=tempfile.mkdtemp())
    observations = [step[0].observation for step in env.run(["run_right", "do_nothing"])[:-1]]
    return pipeline_inputs(observations), observations


def percentiles(seconds: list) -> str:
    values = np.asarray(seconds[1:]) * 1e3
    return f"{np.percentile(values, 50):.3f} | {np.percentile(values, 99):.3f}"


def main() -> None:
    from agent_runtime.architecture import Architecture
    from agent_runtime.incremental import IncrementalForward
    from agent_runtime.keras_model import assign_weights, build_keras_model, compiled_q_function
    from agent_runtime.numpy_model import NumpySplitterConvNN
    from agent_runtime.observation import FrameDifference, raw_player_observation
    from builder.demo import make_untrained_model
    from builder.load import load_weights
    from builder.runtimes import ensure_runtime, get_spec
    from builder.validate import validate_weights

    work = Path(tempfile.mkdtemp(prefix="gfsub-bench-forward-"))
    source = load_weights(make_untrained_model(work / "untrained.keras"))
    arch = Architecture()
    named = validate_weights(source, arch)
    print("playing one full match for its observations...", file=sys.stderr)
    inputs, observations = match_inputs()

    network = NumpySplitterConvNN(arch, named)
    incremental = IncrementalForward(network)
    model = build_keras_model(arch)
    assign_weights(model, arch, named)
    keras_q = compiled_q_function(model, arch.input_shape)
    tflite = _tflite(model)
    forwards = {"dense numpy (before)": network, "incremental numpy": incremental, "Keras tf.function": keras_q}
    if tflite is not None:
        forwards["TFLite (benchmark only)"] = tflite
    times = {name: [] for name in forwards}
    fractions, worst = [], 0.0
    for x in inputs:
        for name, forward in forwards.items():
            start = time.perf_counter()
            forward(x)
            times[name].append(time.perf_counter() - start)
        fractions.append(incremental.last_changed_fraction)
        worst = max(worst, float(np.max(np.abs(incremental(x) - network(x)))))

    steps = {}
    for name, forward in (("dense numpy (before)", network), ("incremental numpy", incremental)):
        frames, seconds = FrameDifference(), []
        for observation in observations:
            start = time.perf_counter()
            forward(frames.push_raw(raw_player_observation(observation)))
            seconds.append(time.perf_counter() - start)
        steps[name] = seconds

    dense_p50 = np.percentile(np.asarray(times["dense numpy (before)"][1:]), 50)
    lines = ["| forward | runtime | forward p50 ms | forward p99 ms | agent step p50 ms | agent step p99 ms |"
             " speed-up (p50) |", "|---|---|---|---|---|---|---|"]
    for name, seconds in times.items():
        step = percentiles(steps[name]) if name in steps else "- | -"
        speedup = dense_p50 / np.percentile(np.asarray(seconds[1:]), 50)
        lines.append(f"| {name} | current | {percentiles(seconds)} | {step} | {speedup:.1f}x |")

    runtime = ensure_runtime(get_spec("kaggle-2020"))
    np.savez(work / "data.npz", inputs=inputs, **{f"w{i}": array for i, (_, array) in enumerate(named)})
    out = subprocess.run([runtime.python, "-c", NUMPY_TIMING, str(ROOT), str(work / "data.npz")],
                         capture_output=True, text=True, check=True)
    old = json.loads(out.stdout.strip().splitlines()[-1])
    old_dense = np.percentile(np.asarray(old["dense"][1:]), 50)
    for name, key in (("dense numpy (before)", "dense"), ("incremental numpy", "incremental")):
        speedup = old_dense / np.percentile(np.asarray(old[key][1:]), 50)
        lines.append(f"| {name} | kaggle-2020 (numpy {old['numpy']}) | {percentiles(old[key])} | - | - | "
                     f"{speedup:.1f}x |")

    share = np.asarray(fractions)
    text = (f"# Forward pass, dense vs incremental ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n\n"
            f"{len(inputs)} real model inputs (one match, run_right vs the engine AI), notebook net, float32 weights. "
            "Agent step = SMM drawing + frame difference + forward.\n\n" + "\n".join(lines) + "\n\n"
            f"Changed share of fc1's input positions on the incremental path: mean {share.mean():.1%}, "
            f"p90 {np.percentile(share, 90):.1%}, max {share.max():.1%} (1.0 = fell back to the dense path: "
            f"{np.mean(share >= 1.0):.1%} of steps). Max |dQ| incremental vs dense: {worst:.1e} here, "
            f"{old['worst']:.1e} in kaggle-2020.\n")
    OUT.write_text(text)
    print("\n" + text)


def _tflite(model):
    """The same Keras model through TFLite's interpreter, if this TensorFlow converts it (benchmark only)."""
    try:
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert())
        interpreter.allocate_tensors()
        (entry,), (exit_,) = interpreter.get_input_details(), interpreter.get_output_details()

        def forward(x):
            interpreter.set_tensor(entry["index"], x[None].astype(np.float32))
            interpreter.invoke()
            return interpreter.get_tensor(exit_["index"])[0]

        forward(np.zeros((72, 96, 4), np.float32))
        return forward
    except Exception as exc:  # noqa: BLE001 - TFLite is optional for this comparison
        print(f"TFLite not measured: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None


if __name__ == "__main__":
    main()
