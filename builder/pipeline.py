"""The build pipeline end to end: load -> validate -> render -> verify -> write (atomically)."""

from dataclasses import dataclass
from pathlib import Path

from agent_runtime.architecture import KAGGLE_N_ACTIONS, Architecture
from builder.describe import describe, n_params
from builder.load import SourceWeights, load_weights
from builder.render import BACKENDS, WEIGHT_DTYPES, render_main_py
from builder.source_model import plan_reference
from builder.validate import resolve_architecture, validate_weights
from builder.verify import THRESHOLDS, ParityReport, verify_main_py
from common.errors import (
    GfsubError,
    InternalError,
    OutputPathError,
    ParityError,
    RuntimeBackendError,
    UnsupportedArchitectureError,
)
from common.files import make_folders, remove_folders, staged_output
from common.kaggle import FULL_MATCH_STEPS
from common.options import validate_choice, validate_range
from runtimes.registry import ensure_runtime, parse_names

DEFAULT_TARGETS = "kaggle-2020,current"


@dataclass
class BuildResult:
    output: Path
    source: SourceWeights
    arch: Architecture
    main_py_bytes: int
    blob_chars: int
    parity: ParityReport | None
    backend: str
    weights_dtype: str
    arch_origin: str = ""

    @property
    def description(self) -> str:
        return describe(self.arch)

    @property
    def n_params(self) -> int:
        return n_params(self.arch)


def build(
    weights: "str | Path",
    output: "str | Path" = "main.py",
    *,
    arch_file: "str | Path | None" = None,
    fallback_action: int = 0,
    verify_steps: int = 300,
    verify: bool = True,
    backend: str = "numpy",
    weights_dtype: str = "float32",
    targets: str = DEFAULT_TARGETS,
    on_runtime_create=None,
) -> BuildResult:
    """Build main.py from trained weights. Nothing is left at `output` unless every check passed, in every
    target runtime (`targets`: comma-separated names; missing runtimes are created, and `on_runtime_create`
    is told)."""
    output = Path(output)
    validate_output_path(output)
    validate_range("--fallback-action", fallback_action, 0, KAGGLE_N_ACTIONS - 1)
    validate_range("--verify-steps", verify_steps, 1, FULL_MATCH_STEPS - 1)
    validate_choice("--backend", backend, tuple(BACKENDS))
    validate_choice("--weights-dtype", weights_dtype, WEIGHT_DTYPES)
    target_specs = parse_names(targets) if verify else []
    for spec in target_specs:
        if backend not in spec.backends:
            raise RuntimeBackendError(None, f"--backend {backend} cannot run in runtime {spec.name} (it has no "
                                      f"{'TensorFlow' if backend == 'keras' else backend})",
                                      f"drop {spec.name} from --target, or use --backend numpy")
    created = output_folders(output)
    written = False
    try:
        source = load_weights(weights)
        arch, arch_origin = resolve_architecture(source, arch_file)
        named = validate_weights(source, arch)
        rendered = render_main_py(source, arch, named, fallback_action=fallback_action,
                                  arch_flag=arch_file is not None, backend=backend, weights_dtype=weights_dtype)
        with staged_output(output) as temporary:
            write_output(temporary, rendered.source, output)
            parity = None
            if verify:
                runtimes = [ensure_runtime(spec, on_create=on_runtime_create) for spec in target_specs]
                parity = verify_main_py(temporary, arch, named, steps=verify_steps, weights_dtype=weights_dtype,
                                        targets=tuple(runtimes), source=plan_reference(source))
            if parity is not None and not parity.passed:
                raise _parity_error(output, parity, weights_dtype)
        written = True
    finally:
        if not written:
            remove_folders(created)  # leave no trace of a failed build
    return BuildResult(output, source, arch, output.stat().st_size, rendered.blob_chars, parity, backend, weights_dtype,
                       arch_origin)


def _parity_error(output: Path, parity: ParityReport, weights_dtype: str) -> GfsubError:
    """Why main.py was refused: a model gfsub does not reproduce (the user's to know), float16 rounding (the
    user's to change), or a main.py that differs from a rebuild that matches the model (a gfsub bug)."""
    if parity.rebuild_vs_source > THRESHOLDS["float32"][1]:
        return UnsupportedArchitectureError(
            output, "the source model computes something gfsub's rebuild of its architecture does not (max |dQ| "
            f"{parity.rebuild_vs_source:.2e} on the verify match): a layer or setting gfsub does not model",
            "gfsub will not build a main.py that plays differently from your model; open a gfsub issue with the "
            "model file to have it supported")
    row = parity.failed_runtime()
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

