"""The PyTorch families (tests/torch_families) on one real match: main.py's agent step against onnxruntime on the
same ONNX file and the original torch module, and what main.py and torch cost to load. bench_forward.py writes it
as the "PyTorch families" section of its page (`bench_forward.py --torch-only`: that section alone).

Each family is built by gfsub from its ONNX file (its encoder or observation and its state, as
tests/test_torch_families.py builds it). Three agents take turns on each observation of one side (round robin, the
first to go rotating): main.py as kaggle-environments loads it, and two more copies of it, each loaded afresh, whose
forward is onnxruntime (one thread) or make.py's torch module with its trained state dict (eager,
torch.set_num_threads(1), torch.inference_mode()). Every step is `agent(obs)`: the same encoder, shell and state,
so the three steps differ by the forward alone, which is also timed on its own inside those steps. Then main.py
replays the observations in kaggle-2020, timed there, and each of main.py and torch is loaded in fresh processes.
torch and onnxruntime are optional: without one, its columns say it is not installed and the rest is measured.

All of it runs in a process of its own (`run`) whose numpy (its BLAS), onnxruntime and torch each use one thread,
as in Kaggle's agent container of 1 CPU (runtimes/sandbox.py sets the same variables): with numpy's BLAS at its
default of one thread per core, main.py's convolutions were 10x slower on this shared 2-core machine.

    python -m benchmarks.torch_forward FOLDER [--quick]   # FOLDER/observations.json -> {"text", "failures"}
"""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {  # family: its encoder variant or --observation, its --state (tests/test_torch_families.py's)
    "mlp_mask_ts13": ("masked", None), "mlp_mask_dynamo": ("masked", None), "lstm_dynamo": ("plain", None),
    "gru_ts17": ("per_player", "none"), "attention_dynamo": ("tokens", None), "bigru_ts17": ("window", None),
    "conv_smm_dynamo": ("smm:stack=4", None), "mlp_decide_dynamo": ("decided", None),
}
QUICK_FAMILIES = ("lstm_dynamo",)  # --quick: the recurrent one (state carried), enough to show it runs
LOAD_REPEATS = 5  # fresh processes per agent kind and family (--quick: 1)
LOAD_SHARE = 1 / 3  # target: main.py's load <= this share of torch's
P99_TARGET_MS = 10.0  # target: the largest family's main.py step p99 in kaggle-2020

# One load and first step in a fresh process, timed inside it: the loader (kaggle-environments, numpy with it) is
# imported before the timer, as in Kaggle's match process; what the job loads is inside it.
LOAD_SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import kaggle_environments.agent
from benchmarks import torch_forward
job = json.loads(open(sys.argv[2]).read())
start = time.perf_counter()
torch_forward.first_step(job)
print(json.dumps(time.perf_counter() - start))
"""


def missing(module: str) -> str:
    """'' if `module` can be imported here, else why its columns are empty."""
    return "" if importlib.util.find_spec(module) is not None else f"{module} not installed"


class TimedModel:
    """A model whose forward (`outputs`) records its own seconds."""

    def __init__(self, model) -> None:
        self.model, self.graph, self.seconds = model, model.graph, []

    def outputs(self, inputs: list) -> dict:
        start = time.perf_counter()
        result = self.model.outputs(inputs)
        self.seconds.append(time.perf_counter() - start)
        return result


class OrtModel:
    """onnxruntime on the family's ONNX file, one thread, fed in main.py's input order."""

    def __init__(self, name: str, graph: dict) -> None:
        import onnxruntime as ort

        from tests.torch_families import FILES

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(FILES / f"{name}.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.graph, self.names = graph, graph.get("input_names", graph["inputs"])
        self.exits = [item.name for item in self.session.get_outputs()]

    def outputs(self, inputs: list) -> dict:
        return dict(zip(self.exits, self.session.run(None, dict(zip(self.names, inputs, strict=True))),
                        strict=True))


class TorchModel:
    """The family's module from tests/torch_families/make.py with its trained state dict (NAME.pt): eager, one
    thread, under torch.inference_mode()."""

    def __init__(self, name: str, graph: dict) -> None:
        import torch

        from tests.torch_families import FILES
        from tests.torch_families.make import FAMILIES as MADE

        torch.set_num_threads(1)
        kind, _, _, _, self.order, self.exits = MADE[name]
        self.module = kind()
        self.module.load_state_dict(torch.load(FILES / f"{name}.pt", weights_only=True))
        self.module.eval()
        self.torch, self.graph, self.names = torch, graph, graph.get("input_names", graph["inputs"])

    def outputs(self, inputs: list) -> dict:
        feed = dict(zip(self.names, inputs, strict=True))
        with self.torch.inference_mode():
            out = self.module(*[self.torch.from_numpy(feed[name]) for name in self.order])
        out = out if isinstance(out, tuple) else (out,)
        return {name: value.numpy() for name, value in zip(self.exits, out, strict=True)}


FORWARDS = {"main.py": None, "onnxruntime": OrtModel, "torch": TorchModel}  # None: main.py's own forward
NEEDS = {"onnxruntime": "onnxruntime", "torch": "torch"}


def build_family(name: str, folder: Path):
    """gfsub's main.py of the family (not verified here: the test suite does that)."""
    from builder import build
    from tests.torch_families import FILES, write_encoder

    variant, state = FAMILIES[name]
    pipeline = {"observation": variant} if ":" in variant else {"encoder": write_encoder(folder, variant)}
    return build(FILES / f"{name}.onnx", folder / f"{name}.py", state=state, verify=False, **pipeline)


def swapped_agent(main_py: Path, name: str, kind) -> tuple:
    """main.py loaded afresh as kaggle-environments loads it, its forward replaced by kind(name, graph) (None: its
    own), timed; -> (agent, its policy, the timed forward)."""
    from common.kaggle import load_like_kaggle

    agent = load_like_kaggle(main_py)
    policy = agent.__globals__["POLICY"]
    model = policy.model if kind is None else kind(name, policy.model.graph)
    policy.model = timed = TimedModel(model)
    return agent, policy, timed


def round_robin(agents: dict, observations: list) -> dict:
    """{agent: {"step": [s], "actions": [a]}}: the agents take turns on each observation, the first rotating."""
    names = list(agents)
    times = {name: {"step": [], "actions": []} for name in names}
    for i, observation in enumerate(observations):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            action = agents[name](observation)
            times[name]["step"].append(time.perf_counter() - start)
            times[name]["actions"].append(action[0])
    return times


def step_times(name: str, main_py: Path, observations: list) -> dict:
    """{agent: {"step", "forward", "actions"}, or why it was not measured}; a step that failed is an error."""
    agents, policies, timed, out = {}, {}, {}, {}
    for agent, kind in FORWARDS.items():
        if agent in NEEDS and missing(NEEDS[agent]):
            out[agent] = missing(NEEDS[agent])
            continue
        agents[agent], policies[agent], timed[agent] = swapped_agent(main_py, name, kind)
    for agent, times in round_robin(agents, observations).items():
        if policies[agent].errors:
            raise RuntimeError(f"{agent}: {policies[agent].errors} of {len(observations)} steps failed")
        out[agent] = {**times, "forward": timed[agent].seconds}
    return out


def runtime_steps(main_py: Path, observations: list, runtime: str = "kaggle-2020") -> list:
    """Seconds of each of main.py's steps in `runtime`, timed there (the first includes loading main.py)."""
    from runtimes.hosted import RuntimeAgent
    from runtimes.registry import ensure_runtime, get_spec

    with RuntimeAgent(ensure_runtime(get_spec(runtime)), main_py) as agent:
        return agent.replay(observations, {"actTimeout": 0.5}).seconds


def first_step(job: dict) -> None:
    """What a load job times (LOAD_SCRIPT): main.py loaded like kaggle-environments loads it, or torch imported and
    the module built with its state dict in main.py's shell and encoder; then one step."""
    if job["kind"] == "main.py":
        from common.kaggle import load_like_kaggle

        agent = load_like_kaggle(Path(job["main_py"]))
        policy = agent.__globals__["POLICY"]
        agent(job["observation"])
    else:
        from agent_runtime.shell import ShellPolicy

        policy = ShellPolicy(TorchModel(job["family"], job["graph"]), job["specs"], job_encoder(job))
        policy.act(job["observation"])
    if policy is None or policy.errors:
        raise RuntimeError(f"{job['kind']}: the first step failed")


def job_encoder(job: dict) -> "tuple | None":
    """(encode, reset, decide) of the family's encoder, as main.py holds it; None for an --observation."""
    from tests.torch_families import encoder_source

    if ":" in job["variant"]:
        return None
    namespace: dict = {}
    exec(encoder_source(job["variant"]), namespace)
    return namespace["encode"], namespace.get("reset"), namespace.get("decide")


def load_times(name: str, main_py: Path, observation: dict, folder: Path, repeats: int) -> dict:
    """{kind: [s]}: main.py's and torch's load and first step, each in `repeats` fresh processes, alternating."""
    from benchmarks.sections import error_in

    namespace = _namespace(main_py)
    common = {"family": name, "variant": FAMILIES[name][0], "observation": observation}
    jobs = {"main.py": {**common, "kind": "main.py", "main_py": str(main_py)}}
    if not missing("torch"):
        jobs["torch"] = {**common, "kind": "torch", "graph": namespace["GRAPH"], "specs": namespace["OBSERVATION"]}
    seconds = {kind: [] for kind in jobs}
    for _ in range(repeats):
        for kind, job in jobs.items():
            path = folder / f"{name}-load-{kind}.json"
            path.write_text(json.dumps(job))
            done = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, str(ROOT), str(path)], capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{kind}'s load exited {done.returncode}: {error_in(done.stderr)}")
            seconds[kind].append(float(done.stdout.strip().splitlines()[-1]))
    return seconds


def _namespace(main_py: Path) -> dict:
    from common.kaggle import load_like_kaggle

    return load_like_kaggle(main_py).__globals__


def measure_family(name: str, folder: Path, observations: list, repeats: int) -> dict:
    """Everything one family's rows need."""
    result = build_family(name, folder)
    steps = step_times(name, result.output, observations)
    runtime = runtime_steps(result.output, observations)
    loads = load_times(name, result.output, observations[0], folder, repeats)
    return {"parameters": result.n_params, "steps": steps, "kaggle-2020": runtime, "loads": loads}


def ms(seconds: list, q: float) -> float:
    """The q-th percentile in ms, the first value (a first step) left out."""
    return float(np.percentile(np.asarray(seconds[1:]), q)) * 1e3


def pair(seconds: list) -> str:
    return f"{ms(seconds, 50):.3f} / {ms(seconds, 99):.3f}"


STEP_HEADER = ["| family | parameters | main.py step p50 / p99 ms | onnxruntime step p50 / p99 ms | torch eager step "
               "p50 / p99 ms | forward alone p50 ms: main.py / onnxruntime / torch | main.py in kaggle-2020 p50 / "
               "p99 ms | same action as main.py: onnxruntime / torch | torch / main.py step p50 | main.py step p50 "
               "<= torch's |", "|---|---|---|---|---|---|---|---|---|---|"]
LOAD_HEADER = ["| family | main.py load + step 1 s | torch load + step 1 s | torch / main.py | main.py <= 1/3 of "
               "torch's | main.py step 1 in kaggle-2020 s |", "|---|---|---|---|---|---|"]


def step_row(name: str, measured: dict) -> str:
    steps = measured["steps"]
    cells = [pair(steps[agent]["step"]) if isinstance(steps[agent], dict) else steps[agent] for agent in FORWARDS]
    forward = " / ".join(f"{ms(steps[agent]['forward'], 50):.3f}" if isinstance(steps[agent], dict) else "n/a"
                         for agent in FORWARDS)
    same = " / ".join(_agreement(steps, agent) for agent in NEEDS)
    if isinstance(steps["torch"], dict):
        mine, theirs = ms(steps["main.py"]["step"], 50), ms(steps["torch"]["step"], 50)
        ratio, verdict = f"{theirs / mine:.2f}x", "met" if mine <= theirs else "**not met**"
    else:
        ratio, verdict = "n/a", f"n/a ({steps['torch']})"
    return "| " + " | ".join([name, str(measured["parameters"]), *cells, forward, pair(measured["kaggle-2020"]),
                              same, ratio, verdict]) + " |"


def _agreement(steps: dict, agent: str) -> str:
    if not isinstance(steps[agent], dict):
        return "n/a"
    same = np.asarray(steps[agent]["actions"]) == np.asarray(steps["main.py"]["actions"])
    return f"{100 * same.mean():.1f} %"


def load_row(name: str, measured: dict) -> str:
    loads, mine = measured["loads"], float(np.median(measured["loads"]["main.py"]))
    if "torch" in loads:
        theirs = float(np.median(loads["torch"]))
        cells = [f"{theirs:.3f}", f"{theirs / mine:.1f}x", "met" if mine <= LOAD_SHARE * theirs else "**not met**"]
    else:
        cells = [missing("torch"), "n/a", f"n/a ({missing('torch')})"]
    return "| " + " | ".join([name, f"{mine:.3f}", *cells, f"{measured['kaggle-2020'][0]:.3f}"]) + " |"


def verdicts(measured: dict) -> list:
    """One line per target, over the families measured."""
    if not measured:
        return ["Targets: not measured (every family failed)."]
    largest = max(measured, key=lambda name: measured[name]["parameters"])
    p99 = ms(measured[largest]["kaggle-2020"], 99)
    lines = [f"- Largest family, {largest} ({measured[largest]['parameters']} parameters): main.py's step p99 in "
             f"kaggle-2020 {p99:.2f} ms (target <= {P99_TARGET_MS:.0f} ms: "
             + ("met" if p99 <= P99_TARGET_MS else "**not met**") + ")."]
    if missing("torch"):
        return lines + [f"- Load and step p50 against torch: not measured ({missing('torch')})."]
    loads = {name: float(np.median(m["loads"]["torch"]) / np.median(m["loads"]["main.py"]))
             for name, m in measured.items()}
    slower = {name: (ms(m["steps"]["main.py"]["step"], 50), ms(m["steps"]["torch"]["step"], 50))
              for name, m in measured.items()}
    slower = {name: p50s for name, p50s in slower.items() if p50s[0] > p50s[1]}
    return lines + [
        f"- main.py's load <= 1/3 of torch's: met for {sum(r >= 1 / LOAD_SHARE for r in loads.values())} of "
        f"{len(loads)} families (torch / main.py {min(loads.values()):.1f}x to {max(loads.values()):.1f}x).",
        f"- main.py's step p50 <= torch eager's: met for {len(measured) - len(slower)} of {len(measured)} families"
        + ("." if not slower else "; not met: " + ", ".join(
            f"{name} ({mine:.3f} ms vs {theirs:.3f} ms, {mine / theirs:.2f}x)"
            for name, (mine, theirs) in slower.items()) + ".")]


def caption(n_observations: int, quick: bool, load: float) -> list:
    from importlib.metadata import PackageNotFoundError, version

    from runtimes.registry import ensure_runtime, get_spec

    def of(package: str) -> str:
        try:
            return f"{package} {version(package)}"
        except PackageNotFoundError:
            return f"{package} not installed"

    here = f"Python {sys.version.split()[0]}, numpy {np.__version__}, {of('onnxruntime')}, {of('torch')}"
    when = f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load average {load:.1f} at the start"
    return [
        f"## PyTorch families ({when}" + (", --quick)" if quick else ")"), "",
        f"The families of tests/torch_families ({n_observations} observations of the same match, one side; here: "
        f"{here}; kaggle-2020: {ensure_runtime(get_spec('kaggle-2020')).describe()}). Each is built by gfsub from "
        "its ONNX file. **Like with like**: every step is one agent call, `agent(obs)`, of main.py loaded as "
        "kaggle-environments loads it, with the family's encoder, main.py's shell (state carried, decide() or "
        "the argmax) and a forward; the onnxruntime and torch agents are main.py itself, loaded afresh, with only "
        "its forward swapped: `session.run` (intra_op_num_threads=1) or make.py's module with its trained state "
        "dict (eager, `torch.set_num_threads(1)`, `torch.inference_mode()`). The three take turns on each "
        "observation (the first rotating), so the step columns differ by the forward alone; *forward alone* "
        "times that call inside the same steps. Every library on one thread, as in Kaggle's agent container of "
        "1 CPU: numpy's BLAS (OMP/OPENBLAS/MKL_NUM_THREADS=1 for this section's processes, kaggle-2020's "
        "included), onnxruntime (intra_op_num_threads=1), torch. kaggle-2020: main.py replaying the observations "
        "inside that runtime, timed there. Load: the load and first step in a fresh process, timed inside it from just "
        "before the load (kaggle-environments' loader and numpy imported before, as in Kaggle's match process), "
        f"median of {1 if quick else LOAD_REPEATS} processes per kind, alternating: main.py = `exec` of main.py "
        "(imports, weights decoded, model built) + one step; torch = `import torch` + the module class + "
        "`load_state_dict(torch.load(NAME.pt))` + one step in the same shell and encoder.", ""]


def section(observations: list, folder: Path, quick: bool) -> tuple:
    """The "PyTorch families" section's Markdown and the failed rows, each family measured in turn."""
    from benchmarks.sections import error_line, failed_row

    folder.mkdir(exist_ok=True)
    load = os.getloadavg()[0]  # a shared machine: how busy it was
    steps, loads, failures, measured = list(STEP_HEADER), list(LOAD_HEADER), [], {}
    for name in QUICK_FAMILIES if quick else tuple(FAMILIES):
        print(f"torch family {name}...", file=sys.stderr)
        try:
            measured[name] = measure_family(name, folder, observations, 1 if quick else LOAD_REPEATS)
        except Exception as error:
            failures.append(f"torch {name}: {error_line(error)}")
            steps.append(failed_row([name], error_line(error), 10))
            loads.append(failed_row([name], error_line(error), 6))
            continue
        steps.append(step_row(name, measured[name]))
        loads.append(load_row(name, measured[name]))
    lines = caption(len(observations), quick, load) + steps + ["", "### Load", ""] + loads + ["", "### Targets", ""]
    return "\n".join(lines + verdicts(measured)) + "\n", failures


def run(observations: list, folder: Path, quick: bool) -> tuple:
    """section() in a process of its own, every library on one thread; -> (its Markdown, the failed rows)."""
    from benchmarks.sections import error_in, failed_cell
    from runtimes.sandbox import THREAD_VARIABLES

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "observations.json").write_text(json.dumps(observations))
    done = subprocess.run([sys.executable, "-m", "benchmarks.torch_forward", str(folder)] + (["--quick"] * quick),
                          cwd=ROOT, env={**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1")},
                          capture_output=True, text=True)
    sys.stderr.write("".join(line + "\n" for line in done.stderr.splitlines() if line.startswith("torch family")))
    if done.returncode != 0:
        line = f"the torch section exited {done.returncode}: {error_in(done.stderr)}"
        return f"## PyTorch families\n\n{failed_cell(line)}\n", [line]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["text"], result["failures"]


def main() -> None:
    folder = Path(sys.argv[1])
    observations = json.loads((folder / "observations.json").read_text())
    text, failures = section(observations, folder, "--quick" in sys.argv[2:])
    print(json.dumps({"text": text, "failures": failures}))


if __name__ == "__main__":
    main()
