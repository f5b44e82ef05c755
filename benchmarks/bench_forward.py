"""Forward pass side by side on the same real observations: dense numpy, incremental numpy, Keras, TFLite.

One real match (run_right vs the engine AI) gives 3,001 model inputs of the notebook net (7.3 M parameters, the
bundled default's seeded initialisation). Each forward is timed on every input two ways in one process: round
robin (the forwards take turns on each input, so each finds the caches as the others left them, much as between
two steps of a match) and alone (one forward over all inputs, then the next). A full agent step (SMM drawing,
frame difference, forward) is timed for both numpy paths. The numpy comparison also runs inside the kaggle-2020
runtime (numpy 1.18.5), where agent_runtime's modules are imported from this checkout. Last, the crossovers that
set the incremental path's thresholds (DENSE_ABOVE, FC1_DENSE_ABOVE): each layer of the notebook net, incremental
vs computed whole, on random changes reaching a growing share of its outputs.

    .venv/bin/python benchmarks/bench_forward.py     # prints the tables and writes benchmarks/FORWARD.md
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

# Runs in any runtime with numpy: agent_runtime and this file's time_forwards only (Python 3.7+, numpy 1.16+).
NUMPY_TIMING = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from agent_runtime.architecture import Architecture
from agent_runtime.incremental import IncrementalForward
from agent_runtime.numpy_model import NumpySplitterConvNN
data = np.load(sys.argv[2])
arch = Architecture()
names = [name + "/" + var for name, shapes in arch.layer_shapes() for var in ("kernel", "bias")]
network = NumpySplitterConvNN(arch, [(n, data["w%d" % i]) for i, n in enumerate(names)])
forwards = {"dense": network, "incremental": IncrementalForward(network)}
inputs = data["inputs"]
from benchmarks.bench_forward import time_forwards
result = time_forwards(forwards, inputs)
result.update(numpy=np.__version__, python=sys.version.split()[0], worst=max(
    float(np.max(np.abs(network(x) - forwards["incremental"](x)))) for x in inputs))
print(json.dumps(result))
"""


def match_inputs(steps: int = 3002) -> tuple:
    """Model inputs and raw observations of one real match, through the reference pipeline."""
    from builder.verify import pipeline_inputs
    from common.kaggle import make_football

    env = make_football(steps=steps - 1, team_2=0, logdir=tempfile.mkdtemp())
    observations = [step[0].observation for step in env.run(["run_right", "do_nothing"])[:-1]]
    return pipeline_inputs(observations), observations


def percentiles(seconds: list) -> str:
    values = np.asarray(seconds[1:]) * 1e3
    return f"{np.percentile(values, 50):.3f} / {np.percentile(values, 99):.3f}"


def p50(seconds: list) -> float:
    return float(np.percentile(np.asarray(seconds[1:]), 50))


def time_forwards(forwards: dict, inputs) -> dict:
    """{name: {"round robin": [s], "alone": [s]}} for each forward on every input."""
    times = {name: {"round robin": [], "alone": []} for name in forwards}
    for x in inputs:
        for name, forward in forwards.items():
            start = time.perf_counter()
            forward(x)
            times[name]["round robin"].append(time.perf_counter() - start)
    for name, forward in forwards.items():
        for x in inputs:
            start = time.perf_counter()
            forward(x)
            times[name]["alone"].append(time.perf_counter() - start)
    return times


def table_rows(times: dict, runtime: str, steps: dict, dense: str) -> list:
    rows = []
    for name, seconds in times.items():
        step = percentiles(steps[name]) if name in steps else "-"
        speedup = " / ".join(f"{p50(times[dense][way]) / p50(seconds[way]):.1f}x" for way in ("round robin", "alone"))
        rows.append(f"| {name} | {runtime} | {percentiles(seconds['round robin'])} | {percentiles(seconds['alone'])} "
                    f"| {step} | {speedup} |")
    return rows


def reset_rows(network, inputs) -> list:
    """A real match's resets (a goal, a throw-in: every player moves at once): fc1 incremental vs whole, cold."""
    from agent_runtime import incremental as module

    resets = [x for x in inputs if np.count_nonzero(x) >= 40]
    forwards = {}
    for name, share in (("fc1 incremental", 2.0), ("fc1 whole", 0.0)):
        kept, module.FC1_DENSE_ABOVE = module.FC1_DENSE_ABOVE, share
        forwards[name] = module.IncrementalForward(network)
        module.FC1_DENSE_ABOVE = kept
    positions = forwards["fc1 whole"].base_features.shape[0]
    shares = [np.count_nonzero(np.any(_features(forwards["fc1 whole"], x) != 0, axis=1)) / positions for x in resets]
    flush, times = np.ones(12_000_000, np.float32), {name: [] for name in forwards}
    for _ in range(5):
        for x in resets:
            for name, forward in forwards.items():
                flush.sum()
                start = time.perf_counter()
                forward(x)
                times[name].append(time.perf_counter() - start)
    return [f"| reset frames ({len(resets)}, real) | {np.mean(shares):.2f} (max {np.max(shares):.2f}) | "
            f"{np.median(times['fc1 incremental']) * 1e3:.3f} (whole forward) | "
            f"{np.median(times['fc1 whole']) * 1e3:.3f} (whole forward) |"]


def _features(forward, x) -> np.ndarray:
    """fc1's input minus the all-zero input's, per position (dense pass)."""
    branches = np.ascontiguousarray(np.moveaxis(x, -1, 0)[..., None])
    for stage in forward.network.layer_stages():
        branches = forward.network.apply_stage(branches, stage)
    return branches.reshape(forward.base_features.shape) - forward.base_features


def crossover_rows(network, rng: np.random.Generator) -> list:
    """Each layer of the notebook net, incremental vs whole, for random changes reaching a share of its outputs."""
    from agent_runtime.incremental import IncrementalForward

    forward = IncrementalForward(network)
    rows = ["| layer | share of outputs reached (fc1: of input positions) | incremental ms | whole ms |",
            "|---|---|---|---|"]
    for index, stage in enumerate(forward.stages):
        n_inputs, channels = len(stage.padded_row), stage.base_padded.shape[1]
        for target in (0.1, 0.3, 0.5, 0.7, 0.9):
            incremental, whole, reached = [], [], []
            for _ in range(40):
                n = _inputs_reaching(stage, target, n_inputs, rng)
                changed = np.sort(rng.choice(n_inputs, n, replace=False))
                values = np.abs(rng.standard_normal((n, channels))).astype(np.float32)
                hits = np.bincount(stage.reached[changed].reshape(-1), minlength=stage.n_outputs + 1)
                reached.append(np.count_nonzero(hits[:-1]) / stage.n_outputs)
                incremental.append(_timed_stage(stage, changed, values, dense_above=10**9))
                whole.append(_timed_stage(stage, changed, values, dense_above=-1))
            rows.append(f"| {stage.kind}{index + 1} | {np.mean(reached):.2f} | {np.median(incremental) * 1e3:.3f} | "
                        f"{np.median(whole) * 1e3:.3f} |")
    positions, block = forward.base_features.shape
    flush = np.ones(12_000_000, np.float32)  # read between trials: fc1's kernel comes from memory, as in a match
    for share in (0.1, 0.3, 0.4, 0.5, 0.6, 0.8):
        incremental, whole = [], []
        for _ in range(30):
            changed = np.sort(rng.choice(positions, int(share * positions), replace=False))
            delta = np.maximum(rng.standard_normal((len(changed), block)), 0).astype(np.float32)
            flush.sum()
            start = time.perf_counter()
            forward.fc1_corrected(changed, delta)
            incremental.append(time.perf_counter() - start)
            flush.sum()
            start = time.perf_counter()
            forward.fc1_whole(changed, delta + forward.base_features[changed])
            whole.append(time.perf_counter() - start)
        rows.append(f"| fc1 | {share:.2f} | {np.median(incremental) * 1e3:.3f} | {np.median(whole) * 1e3:.3f} |")
    return rows


def _inputs_reaching(stage, target: float, n_inputs: int, rng: np.random.Generator) -> int:
    """How many random inputs reach about `target` of the stage's outputs (bisection on a few draws)."""
    low, high = 1, n_inputs
    while low < high:
        middle = (low + high) // 2
        changed = rng.choice(n_inputs, middle, replace=False)
        hits = np.bincount(stage.reached[changed].reshape(-1), minlength=stage.n_outputs + 1)
        if np.count_nonzero(hits[:-1]) / stage.n_outputs < target:
            low = middle + 1
        else:
            high = middle
    return low


def _timed_stage(stage, changed: np.ndarray, values: np.ndarray, dense_above: int) -> float:
    """Seconds for one call of the stage, forced incremental (a huge threshold) or whole (a negative one)."""
    kept, stage.dense_above = stage.dense_above, dense_above
    start = time.perf_counter()
    stage(changed, values)
    seconds = time.perf_counter() - start
    stage.dense_above = kept
    return seconds


def main() -> None:
    from agent_runtime.architecture import Architecture
    from agent_runtime.incremental import IncrementalForward
    from agent_runtime.keras_model import assign_weights, build_keras_model, compiled_q_function
    from agent_runtime.numpy_model import NumpySplitterConvNN
    from agent_runtime.observation import FrameDifference, raw_player_observation
    from builder.load import load_weights
    from builder.validate import validate_weights
    from gfsub.demo import make_untrained_model
    from runtimes.registry import ensure_runtime, get_spec

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
    dense_name, incremental_name = "dense numpy (before)", "incremental numpy"
    forwards = {dense_name: network, incremental_name: incremental, "Keras tf.function": keras_q}
    if tflite is not None:
        forwards["TFLite (benchmark only)"] = tflite
    times = time_forwards(forwards, inputs)
    fractions, dense_layers, worst = [], [], 0.0
    for x in inputs:
        worst = max(worst, float(np.max(np.abs(incremental(x) - network(x)))))
        fractions.append(incremental.last_changed_fraction)
        dense_layers.append(incremental.last_dense_layers)

    steps = {}
    for name in (dense_name, incremental_name):
        frames, seconds = FrameDifference(), []
        for observation in observations:
            start = time.perf_counter()
            forwards[name](frames.push_raw(raw_player_observation(observation)))
            seconds.append(time.perf_counter() - start)
        steps[name] = seconds

    lines = ["| forward | runtime | round robin p50 / p99 ms | alone p50 / p99 ms | agent step p50 / p99 ms |"
             " speed-up p50 (round robin / alone) |", "|---|---|---|---|---|---|"]
    lines += table_rows(times, "current", steps, dense_name)

    runtime = ensure_runtime(get_spec("kaggle-2020"))
    np.savez(work / "data.npz", inputs=inputs, **{f"w{i}": array for i, (_, array) in enumerate(named)})
    out = subprocess.run([runtime.python, "-c", NUMPY_TIMING, str(ROOT), str(work / "data.npz")],
                         capture_output=True, text=True, check=True)
    old = json.loads(out.stdout.strip().splitlines()[-1])
    old_times = {dense_name: old["dense"], incremental_name: old["incremental"]}
    lines += table_rows(old_times, f"kaggle-2020 (numpy {old['numpy']})", {}, dense_name)

    share, dense_layers = np.asarray(fractions), np.asarray(dense_layers)
    text = (f"# Forward pass, dense vs incremental ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores)\n\n"
            f"{len(inputs)} real model inputs (one match, run_right vs the engine AI), notebook net, float32 weights. "
            "Round robin: the forwards take turns on each input; alone: one forward over all inputs. "
            "Agent step = SMM drawing + frame difference + forward.\n\n" + "\n".join(lines) + "\n\n"
            f"Share of fc1's input features that moved: mean {share.mean():.1%}, p90 {np.percentile(share, 90):.1%}, "
            f"max {share.max():.1%}. Steps with a layer computed whole: {np.mean(dense_layers > 0):.1%}. "
            f"Max |dQ| incremental vs dense: {worst:.1e} here, {old['worst']:.1e} in kaggle-2020.\n\n"
            "## Crossovers (thresholds of the incremental path)\n\n"
            + "\n".join(crossover_rows(network, np.random.default_rng(0)) + reset_rows(network, inputs)) + "\n")
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
