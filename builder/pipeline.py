"""The build pipeline end to end: load -> resolve (graph, weights, observation) -> render -> verify -> write."""

from dataclasses import dataclass
from pathlib import Path

from builder.describe import describe, describe_graph, output_kind
from builder.encoder import Encoder, read_encoder
from builder.load import SourceWeights, load_weights
from builder.model_graph import check_graph, output_units
from builder.observations import default_specs, fit_to_inputs, parse_specs
from builder.render import BACKENDS, WEIGHT_DTYPES, BuildFlags, render_main_py, reserved_names
from builder.shell import ShellPlan, plan_shell
from builder.source_model import plan_reference
from builder.validate import ResolvedModel, resolve_model, validate_action_count
from builder.verify import THRESHOLDS, ParityReport, Reference, ShellReference, verify_main_py
from common.errors import (
    EncoderError,
    GfsubError,
    InternalError,
    OptionValueError,
    OutputPathError,
    ParityError,
    RuntimeBackendError,
    SandboxUnavailableError,
    UnsupportedArchitectureError,
)
from common.files import make_folders, remove_folders, staged_output
from common.kaggle import FULL_MATCH_STEPS, N_ACTIONS
from common.options import validate_choice, validate_range
from runtimes.registry import ensure_runtime, parse_names
from runtimes.sandbox import unavailable_reason

DEFAULT_TARGETS = "kaggle-2020,kaggle-2026"
SHELL_FORMATS = ("onnx", "pt2")  # front doors whose models run in the agent shell


@dataclass
class BuildResult:
    output: Path
    source: SourceWeights
    model: ResolvedModel
    main_py_bytes: int
    blob_chars: int
    parity: "ParityReport | None"
    backend: str
    weights_dtype: str
    observation: list  # the specs, as main.py holds them
    observation_origin: str  # "given" (--observation / --encoder) or "inferred" (from the input shapes)
    output_name: str = ""
    output_kind: str = "Q-values"
    encoder: "Encoder | None" = None
    shell: "ShellPlan | None" = None  # named outputs, state and decide around the net (agent_runtime/shell.py)
    unsandboxed: bool = False  # --no-sandbox: the source model's own code ran with the user's rights

    @property
    def description(self) -> str:
        if self.model.arch is not None:
            return describe(self.model.arch)
        return describe_graph(self.model.graph)

    @property
    def n_params(self) -> int:
        return sum(int(array.size) for _, array in self.model.named)


@dataclass(frozen=True)
class Observation:
    """How observations become the model's inputs: specs, or the user's encoder, and where that came from."""

    specs: list
    origin: str
    encoder: "Encoder | None" = None


def build(
    weights: "str | Path",
    output: "str | Path" = "main.py",
    *,
    arch_file: "str | Path | None" = None,
    observation: "str | None" = None,
    encoder: "str | Path | None" = None,
    output_name: "str | None" = None,
    state: "str | None" = None,
    fallback_action: int = 0,
    verify_steps: int = 300,
    verify: bool = True,
    backend: str = "numpy",
    weights_dtype: str = "float32",
    targets: str = DEFAULT_TARGETS,
    on_runtime_create=None,
    no_sandbox: bool = False,
) -> BuildResult:
    """Build main.py from a trained model. Nothing is left at `output` unless every check passed, in every
    target runtime (`targets`: comma-separated names; missing runtimes are created, and `on_runtime_create`
    is told). `state`: the --state pairs ("IN=OUT,...", or "none"); by default inferred by shape. The source model
    (and the code its file carries) runs in a sandbox; `no_sandbox` only where none can be made."""
    output = Path(output)
    validate_output_path(output)
    validate_range("--fallback-action", fallback_action, 0, N_ACTIONS - 1)
    validate_range("--verify-steps", verify_steps, 1, FULL_MATCH_STEPS - 1)
    validate_choice("--backend", backend, tuple(BACKENDS))
    validate_choice("--weights-dtype", weights_dtype, WEIGHT_DTYPES)
    if observation is not None and encoder is not None:
        raise OptionValueError(None, "--observation and --encoder both say how observations become the model's "
                               "inputs", "pass one of them")
    if verify and not no_sandbox:
        reason = unavailable_reason()
        if reason:
            raise SandboxUnavailableError(None, f"no sandbox for the source model's own code can be made here: "
                                          f"{reason}", "install it, or pass --no-sandbox to run the model file's "
                                          "code (its Lambda layers) with your rights")
    target_specs = parse_names(targets) if verify else []
    for spec in target_specs:
        if backend not in spec.backends:
            raise RuntimeBackendError(None, f"--backend {backend} cannot run in runtime {spec.name} (it has no "
                                      f"{'TensorFlow' if backend == 'keras' else backend})",
                                      f"drop {spec.name} from --target, or use --backend numpy")
    specs = parse_specs(observation) if observation is not None else None
    created = output_folders(output)
    written = False
    try:
        source = load_weights(weights, sandboxed=not no_sandbox)
        model = resolve_model(source, arch_file)
        user_code = read_encoder(encoder, reserved_names(backend)) if encoder is not None else None
        decides = user_code is not None and user_code.has_decide
        name, kind, shapes = choose_output(source.path, model, output_name, decides)
        shell = plan_for_shell(source, model, shapes, name, state, decides, backend)
        if backend == "keras":
            refuse_for_keras_backend(model)
        pipeline = resolve_observation(model, specs, user_code, shell)
        graph = shell.graph_data(model.graph) if shell is not None else model.graph.as_data()
        rendered = render_main_py(source, graph, model.named, pipeline.specs, encoder=pipeline.encoder,
                                  description=describe_graph(model.graph) if model.arch is None else
                                  describe(model.arch), fallback_action=fallback_action, backend=backend,
                                  weights_dtype=weights_dtype,
                                  flags=BuildFlags(arch=arch_file is not None, observation=observation or "",
                                                   encoder=Path(encoder).name if encoder else "",
                                                   output=output_name or "", state=state or ""))
        with staged_output(output) as temporary:
            write_output(temporary, rendered.source, output)
            parity = None
            if verify:
                runtimes = [ensure_runtime(spec, on_create=on_runtime_create) for spec in target_specs]
                reference = reference_for(source, model, pipeline, shell, sandboxed=not no_sandbox)
                parity = verify_main_py(temporary, reference, steps=verify_steps, sandboxed=not no_sandbox,
                                        weights_dtype=weights_dtype, targets=tuple(runtimes))
            if parity is not None and not parity.passed:
                raise _parity_error(output, parity, weights_dtype, pipeline.encoder)
        written = True
    finally:
        if not written:
            remove_folders(created)  # leave no trace of a failed build
    return BuildResult(output, source, model, output.stat().st_size, rendered.blob_chars, parity, backend,
                       weights_dtype, pipeline.specs, pipeline.origin, name, kind, pipeline.encoder, shell, no_sandbox)


def choose_output(path: Path, model: ResolvedModel, requested: "str | None", decides: bool = False) -> tuple:
    """The output the policy acts on (or, when the encoder decides, whose first 19 values it records): --output
    NAME, else the one output of 19 values; -> (name, what it holds, every tensor's shape)."""
    shapes = check_graph(model.graph, model.named, path)
    outputs = model.graph.named_outputs()
    units = {name: output_units(shapes, reference) for name, reference in outputs.items()}
    if requested is not None:
        if requested not in outputs:
            raise OptionValueError(path, f"--output {requested!r} is no output of the model",
                                   f"use one of {', '.join(outputs)}")
        name = requested
    elif len(outputs) == 1:
        name = next(iter(outputs))
    else:
        fitting = [name for name, count in units.items() if count == N_ACTIONS]
        if len(fitting) != 1:
            described = ", ".join(f"{name} ({units[name]} values)" for name in outputs)
            raise OptionValueError(path, f"the model has {len(outputs)} outputs: {described}",
                                   "pass --output NAME: the one whose argmax is the action")
        name = fitting[0]
    if not (decides and units[name] >= N_ACTIONS):
        validate_action_count(path, units[name], name)
    model.graph.output = outputs[name]
    return name, output_kind(model.graph, name, units), shapes


def plan_for_shell(source: SourceWeights, model: ResolvedModel, shapes: dict, record: str, state: "str | None",
                   decides: bool, backend: str) -> "ShellPlan | None":
    """The agent shell for an ONNX model, a model with state, or an encoder that decides; None for the rest."""
    if source.format not in SHELL_FORMATS and not decides and state is None:
        return None
    if source.format not in SHELL_FORMATS and source.format not in ("keras", "h5") and model.model_json is None:
        raise OptionValueError(source.path, f"decide() and --state run the source model one step at a time, which "
                               f"gfsub does for .keras, .h5, ONNX and .pt2 files, not a {source.format} file",
                               "build from the model's .keras or .h5 file (model.save), or pass its JSON as --arch")
    if backend != "numpy":
        raise RuntimeBackendError(None, f"--backend {backend} cannot run an ONNX or torch.export model",
                                  "use --backend numpy (the default)")
    return plan_shell(model.graph, shapes, record, state, in_order=source.format == "pt2", path=source.path)


def refuse_for_keras_backend(model: ResolvedModel) -> None:
    """--backend keras rebuilds the graph with tf.keras layers common to Keras 2 and 3; what it cannot, it names."""
    from agent_runtime.keras_model import KERAS_OPS

    missing = sorted({node["op"] for node in model.graph.nodes} - KERAS_OPS)
    if missing:
        raise RuntimeBackendError(None, f"--backend keras cannot rebuild the model's {', '.join(missing)} layers",
                                  "use --backend numpy (the default), which reproduces every layer gfsub reads")


def resolve_observation(model: ResolvedModel, specs: "list | None", encoder: "Encoder | None",
                        shell: "ShellPlan | None" = None) -> Observation:
    """The pipeline for the model's inputs (the state inputs aside): the user's encoder, --observation, or the
    default for its shapes."""
    if encoder is not None:
        return Observation([], "given (--encoder)", encoder)
    shapes = dict(zip(model.graph.named_inputs(), model.graph.input_shapes, strict=True))
    names = shell.fed_inputs(model.graph) if shell is not None else list(shapes)
    fed = [shapes[name] for name in names]
    if specs is not None:
        return Observation(fit_to_inputs(specs, names, fed), "given (--observation)")
    inferred, _ = default_specs(names, fed)
    return Observation(fit_to_inputs(inferred, names, fed), "inferred from the input shape")


def reference_for(source: SourceWeights, model: ResolvedModel, pipeline: Observation,
                  shell: "ShellPlan | None" = None, sandboxed: bool = True) -> "Reference | ShellReference":
    """The verification's reference: the source model itself where it can run, else gfsub's Keras rebuild."""
    graph = model.graph
    if shell is not None:
        served = plan_reference(source, model.model_json, sandboxed) if source.format != "onnx" else None
        return ShellReference(graph, shell, model.named, pipeline.specs, pipeline.encoder, source.path, source.format,
                              sandboxed, served, source.ordered)
    output = graph.output.split(":")[0]
    plan = plan_reference(source, model.model_json, sandboxed)
    if graph.assumed and plan is None:
        raise UnsupportedArchitectureError(source.path, f"layer '{graph.assumed[0]}' (Lambda) records no computation; "
                                           "gfsub reads it as a dueling merge only when the model itself can "
                                           "confirm it", "build from the saved model (.keras, .h5, SavedModel), "
                                           "or pass its model.to_json() as --arch")
    return Reference(graph.as_data(), model.named, pipeline.specs, sandboxed, plan,
                     output_index=[o.split(":")[0] for o in graph.outputs].index(output),
                     output_name=output.split("#")[0], input_names=list(graph.inputs), ordered=source.ordered,
                     encoder_path=pipeline.encoder.path if pipeline.encoder else None, user_encoder=pipeline.encoder)


def _parity_error(output: Path, parity: ParityReport, weights_dtype: str,
                  encoder: "Encoder | None" = None) -> GfsubError:
    """Why main.py was refused: a model gfsub does not reproduce (the user's to know), float16 rounding (the
    user's to change), or a main.py that differs from a rebuild that matches the model (a gfsub bug)."""
    if parity.stopped and encoder is not None:
        return EncoderError(encoder.path, f"main.py, running your encoder in its sandbox on the verify match, was "
                            f"stopped: {parity.stopped}", "make encode() and decide() return within Kaggle's step "
                            "time and memory")
    if parity.stopped:
        return InternalError(output, f"main.py was stopped in its sandbox on the verify match: {parity.stopped}")
    if parity.parted:
        return UnsupportedArchitectureError(
            output, f"gfsub's numpy graph and the source model part at {parity.parted} (on the verify match)",
            "gfsub will not build a main.py that plays differently from your model; open a gfsub issue with the "
            "model file to have it supported")
    if parity.rebuild_vs_source > THRESHOLDS["float32"][1] * max(1.0, parity.scale):
        return UnsupportedArchitectureError(
            output, "the source model computes something gfsub's rebuild of its graph does not (max |dQ| "
            f"{parity.rebuild_vs_source:.2e} on the verify match): a layer or setting gfsub does not model",
            "gfsub will not build a main.py that plays differently from your model; open a gfsub issue with the "
            "model file to have it supported")
    row = parity.failed_runtime()
    if row is not None and row.encoder_gap and encoder is not None:
        return EncoderError(encoder.path, f"computes other inputs in runtime {row.runtime} ({row.versions}) than "
                            f"here ({row.encoder_gap}), so main.py plays differently there",
                            "make encode() give the same result on numpy 1.16-2.x and Python 3.7+ (ties in a sort: "
                            "np.argsort(..., kind=\"stable\"))")
    if row is not None and parity.agreement >= THRESHOLDS[weights_dtype][0]:
        problem = row.error or (f"action agreement {row.agreement:.2%}, max |dQ| {row.max_abs_dq:.2e} over "
                                f"{row.steps} steps")
        problem = f"main.py does not play like the source model in runtime {row.runtime} ({row.versions}): {problem}"
    else:
        problem = f"main.py does not play like the source model: {parity.summary()}"
    if weights_dtype != "float32":
        return ParityError(output, problem, "store the weights as float32 (--weights-dtype float32)")
    return InternalError(output, problem)


def output_folders(output: Path) -> list:
    """Create -o's missing folders; -> the ones created (removed again if the build fails)."""
    try:
        return make_folders(output.parent)
    except OSError as exc:
        raise OutputPathError(output, f"its folder cannot be created ({exc.strerror})",
                              "choose an -o in a folder you can write") from None


def write_output(temporary: Path, text: str, output: Path) -> None:
    try:
        temporary.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OutputPathError(output, f"cannot be written ({exc.strerror})",
                              "choose an -o in a folder you can write") from None


def validate_output_path(output: Path) -> None:
    if output.is_dir():
        raise OutputPathError(output, "is a directory", "pass a file name, e.g. -o main.py")
    existing = next((p for p in (output.parent, *output.parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputPathError(output, f"{existing} is a file, not a folder", "choose another -o")

