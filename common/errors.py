"""Every error gfsub reports, in one place, by category.

    GfsubError                 the root: `str(error)` is the one line the CLI prints, `exit_code` its status
      UserError                the user's input or machine: the line says what to fix (exit 2)
        InputFileError         a model, weights or agent file that cannot be read
        ModelRefusedError      a model gfsub will not build, because it cannot reproduce it exactly
        UsageError             an option, a path or a run directory that cannot be used as asked
        SetupError             the machine: runtimes, interpreters, the cache folder, a Ray cluster
      InternalError            not the user's doing: a gfsub bug (exit 3), with the log that holds its traceback
"""

from pathlib import Path


class GfsubError(Exception):
    """Root of every error gfsub names: `path: problem — fix`."""

    exit_code = 2

    def __init__(self, path: "str | Path | None", problem: str, fix: str = "") -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        fix = f" — {self.fix}" if self.fix else ""
        return f"{where}{self.problem}{fix}"


class UserError(GfsubError):
    """A problem with the user's input or machine that they can fix."""


# ----- input files --------------------------------------------------------------------------------------------
class InputFileError(UserError):
    """A file given to gfsub that cannot be read as what it should be."""


class MissingFileError(InputFileError):
    """The input path does not exist."""


class UnknownFormatError(InputFileError):
    """The content is none of the weight formats gfsub reads."""


class CorruptFileError(InputFileError):
    """The format was recognised but the file cannot be read (truncated, damaged, unsafe)."""


class ArchitectureFileError(InputFileError):
    """An --arch JSON file that cannot be used."""


class EncoderError(InputFileError):
    """An --encoder file that cannot be used."""


class EpisodeFileError(InputFileError):
    """An episode JSON (`gfsub replay`) that is not a whole football episode gfsub can replay."""


# ----- models gfsub refuses -----------------------------------------------------------------------------------
class ModelRefusedError(UserError):
    """A model gfsub will not turn into a main.py, because main.py would not play exactly like it."""


class UnsupportedArchitectureError(ModelRefusedError):
    """A layer, setting or graph gfsub does not reproduce exactly."""


class OnnxOpRefusedError(UnsupportedArchitectureError):
    """An ONNX node gfsub does not reproduce exactly: an unknown op, a random op, control flow, a setting."""


class ModelTooLargeError(ModelRefusedError):
    """A tensor (an initializer, a declared shape, a shape computed at build time) over the element limit."""


class AmbiguousArchitectureError(ModelRefusedError):
    """Weights-only input whose shapes fit several known architectures."""


class WeightShapeError(ModelRefusedError):
    """A weight whose shape does not fit the architecture."""


class NonFiniteWeightsError(ModelRefusedError):
    """A weight containing NaN or infinity."""


class ActionCountError(ModelRefusedError):
    """A Q head whose number of actions is not Kaggle football's 19."""


class ParityError(ModelRefusedError):
    """The rendered main.py does not play like the source model, for a reason the user chose (float16 rounding)."""


class SourceModelError(ModelRefusedError):
    """The saved model itself could not be run to serve as the verification reference."""


# ----- options, paths and runs --------------------------------------------------------------------------------
class UsageError(UserError):
    """An option, path or run directory that cannot be used as asked."""


class OptionValueError(UsageError):
    """A command-line option outside its allowed range or choices."""


class OutputPathError(UsageError):
    """The output cannot be written where asked."""


class RunDirectoryError(UsageError):
    """A --run-dir that cannot be created, holds another run, or --resume with different settings."""


class OpponentError(UsageError):
    """A `gfsub check --opponent` that is neither a built-in agent nor a file."""


class ParticipantError(UsageError):
    """A league participant that cannot play: no such file, no callable, named twice."""


class UnknownRuntimeError(UsageError):
    """A --target / --runtime name that no runtimes file defines."""


class CheckCoverageError(UsageError):
    """`gfsub package` found no release-grade PASS check for this main.py."""


class PackageContentError(UsageError):
    """A file that cannot go into submission.tar.gz as asked (name clash, over the size limit)."""


class ArchiveLoadError(UsageError):
    """The packed main.py does not load with kaggle-environments' loader."""


# ----- the machine --------------------------------------------------------------------------------------------
class SetupError(UserError):
    """Something of the machine gfsub needs: a runtime, an interpreter, the cache folder, a Ray cluster."""


class CacheDirectoryError(SetupError):
    """$GFSUB_CACHE (or ~/.cache/gfsub) cannot be used as a folder."""


class RuntimeDefinitionError(SetupError):
    """A runtimes TOML file that cannot be used."""


class MissingInterpreterError(SetupError):
    """The Python version a runtime needs is not on this machine."""


class RuntimeInstallError(SetupError):
    """pip could not install a runtime's packages."""


class RuntimeBackendError(SetupError):
    """A backend that a target runtime cannot run (e.g. keras where there is no TensorFlow)."""


class SandboxUnavailableError(SetupError):
    """No sandbox for other people's agents can be made on this machine (not Linux, no bubblewrap, no namespaces)."""


class MissingPackageError(SetupError):
    """An optional package that this model needs is not installed (onnx, onnxruntime, torch): the extra to add."""


class RayClusterError(SetupError):
    """`--ray`: Ray is not installed, or the cluster address does not answer."""


# ----- gfsub's own bugs ---------------------------------------------------------------------------------------
class InternalError(GfsubError):
    """Not the user's input: a gfsub bug. Its own exit code, and the log that holds the traceback."""

    exit_code = 3

    def __init__(self, path: "str | Path | None", problem: str, log: "str | Path | None" = None) -> None:
        if log is None:
            from common.cache import log_path

            log = log_path()
        self.log = Path(log)
        super().__init__(path, problem, f"this is a gfsub bug: please report it with the command you ran and the "
                         f"log {self.log}")
