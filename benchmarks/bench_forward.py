"""Forward pass per model family, side by side on the same real observations: numpy (main.py's), TFLite, Keras.

One real match (run_right vs the engine AI) gives 3,001 raw observations; each family's inputs come from them
through its observation spec (the reference pipeline). The families are tests/era_families.py's at their real
sizes, trained a few epochs by the Keras of the runtime: here (Keras 3) and in kaggle-2020 (TensorFlow 2.3.1,
numpy 1.18.5, Python 3.7), where agent_runtime is imported from this checkout. Each forward is timed on every input
round robin (the three take turns on each input, so each finds the caches as the others left them, as between
two steps of a match) and alone (one forward over all inputs). numpy is main.py's forward: the graph, with the
incremental pass where the graph starts with layers it covers. Then, in kaggle-2020, the impala net's full agent
step (main.py's pipeline and forward, timed inside the runtime). Last, the crossovers behind the incremental
pass's thresholds: the first convolution of each SMM family, incremental vs whole, on changes reaching a growing
share of its outputs, and the notebook net's Dense layer on a real match's resets. And the PyTorch families
(benchmarks/torch_forward.py): main.py's agent step against onnxruntime and the torch module on the same
observations, main.py's step in kaggle-2020, and main.py's load against torch's (torch optional).

    .venv/bin/python benchmarks/bench_forward.py     # prints the tables and writes docs/benchmarks/forward.md
    .venv/bin/python benchmarks/bench_forward.py --quick [--out F]  # 20 observations, 2 families at test size
    .venv/bin/python benchmarks/bench_forward.py --torch-only  # the PyTorch families' section alone, replaced

A runtime or family whose measurement fails is a FAILED row with the error's line, and the script then exits 1.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "docs" / "benchmarks" / "forward.md"
FAMILY_SCRIPT = ROOT / "tests" / "era_families.py"
FAMILIES = {  # family: its observation spec
    "dense_simple115": "simple115v2", "simple115_stack2": "simple115v2:stack=2", "nature_cnn": "smm:stack=4",
    "impala": "smm:stack=4", "two_input": "smm:scale=255,simple115v2", "batchnorm_cnn": "smm:scale=255:diff",
    "sequential_elu": "simple115", "functional_ops": "simple115v2",
}
QUICK_FAMILIES = ("dense_simple115", "impala")  # --quick: a dense net and the SMM net the agent step plays
CROSSOVER_FAMILIES = ("nature_cnn", "impala", "two_input", "batchnorm_cnn")

# Runs in a runtime (Python 3.7+): numpy (agent_runtime from this checkout), TFLite and Keras of that TensorFlow.
RUNTIME_TIMING = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from benchmarks.bench_forward import forwards_of, time_forwards
spec = json.loads(open(sys.argv[2]).read())
results = {}
for family, item in spec.items():
    with np.load(item["inputs"]) as archive:
        inputs = [archive["arr_" + str(i)] for i in range(len(archive.files))]
    forwards, incremental = forwards_of(item, inputs)
    results[family] = {"times": time_forwards(forwards, inputs), "incremental": incremental}
import tensorflow as tf
print(json.dumps({"results": results, "numpy": np.__version__, "tensorflow": tf.__version__,
                  "python": sys.version.split()[0]}))
"""


def forwards_of(item: dict, inputs: list) -> tuple:
    """{"numpy": main.py's forward, "TFLite": ..., "Keras tf.function": ...} for one family's files; -> (forwards,
    whether numpy is incremental). `item`: the graph (JSON), its weights (.npz) and the Keras file."""
    from agent_runtime.graph import GraphModel
    from agent_runtime.incremental import incremental_forward

    graph = json.loads(Path(item["graph"]).read_text())
    with np.load(item["weights"]) as archive:
        named = [(name, archive[f"w{i}"]) for i, name in enumerate(item["names"])]
    dense = GraphModel(graph, named)
    numpy_forward = incremental_forward(dense, item["specs"]) or dense
    model = _keras_model(item["model"])
    forwards = {"numpy": lambda x: numpy_forward([a[None] for a in x]), "TFLite": _tflite(model, inputs),
                "Keras tf.function": _keras_function(model, inputs)}
    return forwards, numpy_forward is not dense


def _keras_model(path: str):
    import tensorflow as tf

    if tuple(int(v) for v in tf.__version__.split(".")[:2]) >= (2, 16):
        import keras

        return keras.models.load_model(path, compile=False)
    return tf.keras.models.load_model(path, compile=False)


def _keras_function(model, inputs: list):
    import tensorflow as tf

    signature = [tf.TensorSpec((1,) + x.shape[1:], tf.float32) for x in inputs]
    traced = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False),
                         input_signature=signature)
    return lambda x: traced(*[tf.constant(a[None]) for a in x])


def _tflite(model, inputs: list):
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert())
    interpreter.allocate_tensors()
    entries = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    order = [next(i for i, x in enumerate(inputs) if tuple(e["shape"][1:]) == x.shape[1:]) for e in entries]
    exit_ = interpreter.get_output_details()[0]

    def forward(x):
        for entry, position in zip(entries, order):
            interpreter.set_tensor(entry["index"], x[position][None].astype(np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(exit_["index"])

    return forward


def time_forwards(forwards: dict, inputs: list) -> dict:
    """{name: {"round robin": [s], "alone": [s]}} for each forward on every input (inputs: one array per model
    input, the observations along the first axis)."""
    rows = list(zip(*inputs))
    times = {name: {"round robin": [], "alone": []} for name in forwards}
    for x in rows:
        for name, forward in forwards.items():
            start = time.perf_counter()
            forward(x)
            times[name]["round robin"].append(time.perf_counter() - start)
    for name, forward in forwards.items():
        for x in rows:
            start = time.perf_counter()
            forward(x)
            times[name]["alone"].append(time.perf_counter() - start)
    return times


def p50(seconds: list) -> float:
    return float(np.percentile(np.asarray(seconds[1:]), 50)) * 1e3


def p99(seconds: list) -> float:
    return float(np.percentile(np.asarray(seconds[1:]), 99)) * 1e3


def write_families(runtime: str, folder: Path, raws: list, families: tuple, size: str) -> dict:
    """The families at their real sizes (size "bench"), trained and saved by the runtime's own Keras; -> {family:
    model file}."""
    from builder.observations import fit_to_inputs, parse_specs
    from builder.reference_inputs import reference_inputs
    from runtimes.registry import ensure_runtime, get_spec

    ready = ensure_runtime(get_spec(runtime))
    spec = {"out": str(folder), "families": list(families), "formats": ["keras" if runtime == "current" else "h5"],
            "data": {}, "check": {}, "size": size}
    for family in families:
        text = FAMILIES[family]
        shapes = SHAPES[family]
        specs = fit_to_inputs(parse_specs(text), [f"x{i}" for i in range(len(shapes))], shapes)
        np.savez(folder / f"{family}-data.npz", *reference_inputs(specs, raws[:400]))
        spec["data"][family], spec["check"][family] = str(folder / f"{family}-data.npz"), []
    _run([ready.python, str(FAMILY_SCRIPT), json.dumps(spec)], {**os.environ, **ready.spec.environment})
    return {family: paths[0] for family, paths in json.loads((folder / "written.json").read_text())["written"].items()}


SHAPES = {"dense_simple115": [(115,)], "simple115_stack2": [(115, 2)], "nature_cnn": [(72, 96, 16)],
          "impala": [(72, 96, 16)], "two_input": [(72, 96, 4), (115,)], "batchnorm_cnn": [(72, 96, 4)],
          "sequential_elu": [(115,)], "functional_ops": [(115,)]}


def timing_spec(files: dict, folder: Path, raws: list) -> dict:
    """Per family: gfsub's graph and weights of its file, its inputs over the match, its specs."""
    from builder.load import load_weights
    from builder.model_graph import check_graph
    from builder.observations import fit_to_inputs, parse_specs
    from builder.reference_inputs import reference_inputs
    from builder.validate import resolve_model

    spec = {}
    for family, path in files.items():
        model = resolve_model(load_weights(path), None)
        check_graph(model.graph, model.named, Path(path))
        model.graph.output = model.graph.outputs[0]
        specs = fit_to_inputs(parse_specs(FAMILIES[family]), model.graph.inputs, model.graph.input_shapes)
        (folder / f"{family}-graph.json").write_text(json.dumps(model.graph.as_data()))
        np.savez(folder / f"{family}-weights.npz", **{f"w{i}": a for i, (_, a) in enumerate(model.named)})
        np.savez(folder / f"{family}-inputs.npz", *reference_inputs(specs, raws))
        spec[family] = {"graph": str(folder / f"{family}-graph.json"), "weights": str(folder / f"{family}-weights.npz"),
                        "names": [n for n, _ in model.named], "inputs": str(folder / f"{family}-inputs.npz"),
                        "specs": specs, "model": path}
    return spec


def _run(command: list, env: dict) -> str:
    """The command's stdout; RuntimeError with the line that names its error if it failed."""
    from benchmarks.sections import error_in

    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        name = Path(command[1]).name if command[1] != "-c" else "the timing"
        raise RuntimeError(f"{name} exited {out.returncode}: {error_in(out.stderr or out.stdout)}")
    return out.stdout


def measure(runtime: str, folder: Path, raws: list, families: tuple, size: str) -> dict:
    from runtimes.registry import ensure_runtime, get_spec

    spec = timing_spec(write_families(runtime, folder, raws, families, size), folder, raws)
    (folder / "timing.json").write_text(json.dumps(spec))
    ready = ensure_runtime(get_spec(runtime))
    out = _run([ready.python, "-c", RUNTIME_TIMING, str(ROOT), str(folder / "timing.json")],
               {**os.environ, **ready.spec.environment})
    return {**json.loads(out.strip().splitlines()[-1]), "files": spec}


def family_rows(runtime: str, measured: dict) -> list:
    rows = []
    for family, result in measured["results"].items():
        t = result["times"]
        numpy_p50, lite_p50 = p50(t["numpy"]["round robin"]), p50(t["TFLite"]["round robin"])
        cells = [f"{p50(t[name][way]):.3f} / {p99(t[name][way]):.3f}" for name in ("numpy", "TFLite",
                                                                                  "Keras tf.function")
                 for way in ("round robin",)]
        alone = f"{p50(t['numpy']['alone']):.3f} / {p50(t['TFLite']['alone']):.3f}"
        rows.append(f"| {family} | {runtime} | {'incremental' if result['incremental'] else 'graph'} | "
                    + " | ".join(cells) + f" | {alone} | {lite_p50 / numpy_p50:.2f}x | "
                    + ("met" if numpy_p50 <= lite_p50 else "**not met**") + " |")
    return rows


def impala_agent_step(files: dict, observations: list, folder: Path) -> str:
    """The impala net's whole agent step in kaggle-2020: main.py loaded there, fed the match, timed inside."""
    from builder import build
    from runtimes.hosted import RuntimeAgent
    from runtimes.registry import ensure_runtime, get_spec

    result = build(files["impala"], folder / "impala-main.py", observation=FAMILIES["impala"], verify=False)
    runtime = ensure_runtime(get_spec("kaggle-2020"))
    with RuntimeAgent(runtime, result.output) as agent:
        replay = agent.replay(observations, {"actTimeout": 0.5})
    seconds = replay.seconds
    return (f"impala net, full agent step (pipeline + forward) in kaggle-2020, {len(seconds)} steps: p50 "
            f"{p50(seconds):.2f} ms, p99 {p99(seconds):.2f} ms (target p99 <= 10 ms: "
            + ("met" if p99(seconds) <= 10 else "**not met**") + f"); step 1 (loading main.py) {seconds[0]:.2f} s")


def crossover_rows(files: dict, raws: list, rng: np.random.Generator, repeats: int = 20) -> tuple:
    """The first convolution of each SMM family (and every notebook layer): incremental vs whole on random changes
    reaching a share of its outputs; -> (rows, failures)."""
    from agent_runtime.graph import GraphModel
    from agent_runtime.incremental import incremental_forward
    from benchmarks.sections import error_line, failed_row
    from builder.load import load_weights
    from builder.model_graph import check_graph
    from builder.observations import fit_to_inputs, parse_specs
    from builder.validate import resolve_model

    rows = ["| family, layer | share of outputs reached | incremental ms | whole ms |", "|---|---|---|---|"]
    failures = []
    for family in [f for f in CROSSOVER_FAMILIES if f in files]:
        try:
            model = resolve_model(load_weights(files[family]), None)
            check_graph(model.graph, model.named, Path(files[family]))
            model.graph.output = model.graph.outputs[0]
            specs = fit_to_inputs(parse_specs(FAMILIES[family]), model.graph.inputs, model.graph.input_shapes)
            forward = incremental_forward(GraphModel(model.graph.as_data(), model.named), specs)
            stage = forward.prefixes[0].stages[0]
            rows += _stage_rows(f"{family}, conv1", stage, rng, repeats)
        except Exception as error:
            failures.append(f"crossover {family}: {error_line(error)}")
            rows.append(failed_row([f"{family}, conv1"], error_line(error), 4))
    return rows, failures


def _stage_rows(label: str, stage, rng: np.random.Generator, repeats: int) -> list:
    rows, n_inputs, channels = [], len(stage.padded_row), stage.base_padded.shape[1]
    for target in (0.1, 0.3, 0.5, 0.7, 0.9):
        incremental, whole, reached = [], [], []
        for _ in range(repeats):
            n = _inputs_reaching(stage, target, n_inputs, rng)
            changed = np.sort(rng.choice(n_inputs, n, replace=False))
            values = np.abs(rng.standard_normal((n, channels))).astype(np.float32)
            hits = np.bincount(stage.reached[changed].reshape(-1), minlength=stage.n_outputs + 1)
            reached.append(np.count_nonzero(hits[:-1]) / stage.n_outputs)
            incremental.append(_timed_stage(stage, changed, values, dense_above=10**9))
            whole.append(_timed_stage(stage, changed, values, dense_above=-1))
        rows.append(f"| {label} | {np.mean(reached):.2f} | {np.median(incremental) * 1e3:.3f} | "
                    f"{np.median(whole) * 1e3:.3f} |")
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


def notebook_rows(raws: list, folder: Path) -> dict:
    """The notebook net (the bundled default): numpy vs TFLite vs Keras, here, for the same table."""
    from builder.load import load_weights
    from builder.model_graph import check_graph
    from builder.observations import fit_to_inputs, parse_specs
    from builder.reference_inputs import reference_inputs
    from builder.validate import resolve_model
    from gfsub.demo import make_untrained_model

    path = make_untrained_model(folder / "notebook.keras")
    model = resolve_model(load_weights(path), None)
    check_graph(model.graph, model.named, path)
    model.graph.output = model.graph.outputs[0]
    specs = fit_to_inputs(parse_specs("smm:scale=255:diff"), model.graph.inputs, model.graph.input_shapes)
    (folder / "notebook-graph.json").write_text(json.dumps(model.graph.as_data()))
    np.savez(folder / "notebook-weights.npz", **{f"w{i}": a for i, (_, a) in enumerate(model.named)})
    inputs = reference_inputs(specs, raws)
    item = {"graph": str(folder / "notebook-graph.json"), "weights": str(folder / "notebook-weights.npz"),
            "names": [n for n, _ in model.named], "specs": specs, "model": str(path)}
    forwards, incremental = forwards_of(item, inputs)
    return {"notebook": {"times": time_forwards(forwards, inputs), "incremental": incremental}}


def play_match(quick: bool, work: Path) -> list:
    """The kaggle observations of one side of one real match (run_right vs the engine AI)."""
    from common.kaggle import make_football

    print("playing one match for its observations...", file=sys.stderr)
    env = make_football(steps=20 if quick else 3001, team_2=0, logdir=str(work / "match"))
    return [step[0].observation for step in env.run(["run_right", "do_nothing"])[:-1]]


def torch_section(observations: list, folder: Path, quick: bool) -> tuple:
    """The PyTorch families' section (benchmarks/torch_forward.py) between its markers, and its failed rows."""
    from benchmarks.torch_forward import run

    text, failures = run(observations, folder / "torch", quick)
    return "<!-- torch -->\n" + text.rstrip() + "\n<!-- /torch -->\n", failures


def torch_only(out: Path, observations: list, work: Path, quick: bool) -> None:
    """--torch-only: the PyTorch families' section alone, replacing that section of `out` (the rest kept)."""
    from benchmarks.sections import finish, write_section
    from benchmarks.torch_forward import run

    text, failures = run(observations, work / "torch", quick)
    print("\n" + text)
    write_section(out, "torch", text)
    print(f"written to {out}")
    finish(failures)


def main() -> None:
    from benchmarks.sections import add_common_options, error_line, failed_row, finish, output_file, scratch, write_file

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_options(parser, OUT)
    parser.add_argument("--torch-only", action="store_true",
                        help="measure only the PyTorch families and replace their section of the file")
    args = parser.parse_args()
    out = output_file(args, OUT)
    families, size = (QUICK_FAMILIES, "test") if args.quick else (tuple(FAMILIES), "bench")
    work = scratch("gfsub-bench-forward-")
    observations = play_match(args.quick, work)
    if args.torch_only:
        return torch_only(out, observations, work, args.quick)
    raws = [obs["players_raw"][0] for obs in observations]
    here, old = work / "current", work / "kaggle-2020"
    here.mkdir()
    old.mkdir()
    print("training and timing the families here and in kaggle-2020...", file=sys.stderr)
    header = ["| family | runtime | numpy forward | numpy p50 / p99 ms | TFLite p50 / p99 ms | Keras tf.function "
              "p50 / p99 ms | alone: numpy / TFLite p50 ms | TFLite / numpy | numpy p50 <= TFLite p50 |",
              "|---|---|---|---|---|---|---|---|---|"]
    rows, failures, measured = list(header), [], {}
    for runtime, folder in (("current", here), ("kaggle-2020", old)):
        try:
            measured[runtime] = measure(runtime, folder, raws, families, size)
        except Exception as error:
            failures.append(f"{runtime}: {error_line(error)}")
            rows.append(failed_row(["all", runtime], error_line(error), 9))
            continue
        if runtime == "current":
            try:
                measured[runtime]["results"] = {**notebook_rows(raws, here), **measured[runtime]["results"]}
            except Exception as error:
                failures.append(f"notebook: {error_line(error)}")
                rows.append(failed_row(["notebook", runtime], error_line(error), 9))
        label = runtime if runtime == "current" else "kaggle-2020 (numpy {}, TF {})".format(
            measured[runtime]["numpy"], measured[runtime]["tensorflow"])
        rows += family_rows(label, measured[runtime])
    impala = "impala net, full agent step in kaggle-2020: not measured (kaggle-2020 failed)"
    if "kaggle-2020" in measured:
        try:
            impala = impala_agent_step({f: i["model"] for f, i in measured["kaggle-2020"]["files"].items()},
                                       observations, old)
        except Exception as error:
            failures.append(f"impala agent step: {error_line(error)}")
            impala = f"impala net, full agent step in kaggle-2020: FAILED: {error_line(error)}"
    crossovers = ["(not measured: the current runtime failed)"]
    if "current" in measured:
        crossovers, failed = crossover_rows({f: i["model"] for f, i in measured["current"]["files"].items()}, raws,
                                            np.random.default_rng(0), repeats=2 if args.quick else 20)
        failures += failed
    torch_text, failed = torch_section(observations, work, args.quick)
    failures += failed
    text = ("# Forward pass per family ({}, {} cores{})\n\n".format(time.strftime("%Y-%m-%d"), os.cpu_count(),
                                                                  ", --quick" if args.quick else "")
            + "{} real observations (one match, run_right vs the engine AI), each family's inputs through its "
            "observation spec; families at {} (tests/era_families.py, size {}), trained a few "
            "epochs by the runtime's own Keras. Round robin: the three forwards take turns on each input (the p50 "
            "compared); alone: one forward over all inputs. numpy = main.py's forward (incremental where the graph "
            "starts with layers the pass covers).\n\n".format(len(raws), "their real sizes" if size == "bench"
                                                               else "test size", size)
            + "\n".join(rows) + "\n\n" + impala + "\n\n" + torch_text + "\n"
            "## Crossovers (thresholds of the incremental path)\n\n" + "\n".join(crossovers) + "\n")
    write_file(out, text)
    finish(failures)


if __name__ == "__main__":
    main()
