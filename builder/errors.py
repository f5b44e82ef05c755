"""Every error gfsub reports to a user, in one place.

Each carries the file it is about and what to do; `str(error)` is the one line the CLI prints.
"""

from pathlib import Path


class GfsubError(Exception):
    """Base class: a problem with the user's input that they can fix."""

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


class MissingFileError(GfsubError):
    """The input path does not exist."""


class UnknownFormatError(GfsubError):
    """The content is none of the weight formats gfsub reads."""


class CorruptFileError(GfsubError):
    """The format was recognised but the file cannot be read (truncated, damaged, unsafe)."""


class ArchitectureFileError(GfsubError):
    """An --arch JSON file that cannot be used."""


class UnsupportedArchitectureError(GfsubError):
    """A saved model whose graph is not a SplitterConvNN gfsub can rebuild."""


class WeightShapeError(GfsubError):
    """A weight whose shape does not fit the architecture."""


class NonFiniteWeightsError(GfsubError):
    """A weight containing NaN or infinity."""


class ActionCountError(GfsubError):
    """A Q head whose number of actions is not Kaggle football's 19."""


class ParityError(GfsubError):
    """The rendered main.py does not play like the source model."""


class OutputPathError(GfsubError):
    """The output cannot be written where asked."""


class UnknownRuntimeError(GfsubError):
    """A --target / --runtime name that no runtimes file defines."""


class RuntimeDefinitionError(GfsubError):
    """A runtimes TOML file that cannot be used."""


class MissingInterpreterError(GfsubError):
    """The Python version a runtime needs is not on this machine."""


class RuntimeInstallError(GfsubError):
    """pip could not install a runtime's packages."""


class RuntimeBackendError(GfsubError):
    """A backend that a target runtime cannot run (e.g. keras where there is no TensorFlow)."""


class RuntimeAgentError(GfsubError):
    """main.py failed to load or play inside a target runtime."""


class OptionValueError(GfsubError):
    """A numeric command-line option outside its allowed range."""


class CheckCoverageError(GfsubError):
    """`gfsub package` found no release-grade PASS check for this main.py."""


class ArchiveLoadError(GfsubError):
    """The packed main.py does not load with kaggle-environments' loader."""


class SourceModelError(GfsubError):
    """The saved model itself could not be run to serve as the verification reference."""


class AmbiguousArchitectureError(GfsubError):
    """Weights-only input whose shapes fit several known architectures."""


class RunDirectoryError(GfsubError):
    """A --run-dir that holds another run, or --resume with different settings."""


class OpponentError(GfsubError):
    """A `gfsub check --opponent` that is neither a built-in agent nor a file."""


class ParticipantError(GfsubError):
    """A league participant that cannot play: no such file, no callable, named twice."""


class RayClusterError(GfsubError):
    """`--ray`: Ray is not installed, or the cluster address does not answer."""


class PackageContentError(GfsubError):
    """A file that cannot go into submission.tar.gz as asked (name clash, over the size limit)."""


class InternalError(GfsubError):
    """Not the user's input: a gfsub bug. Reported with its own exit code and a request for a bug report."""

    def __init__(self, path: "str | Path | None", problem: str) -> None:
        super().__init__(path, problem, "this is a gfsub bug: please report it with the command you ran and "
                         "the log in ~/.cache/gfsub/logs/last-command.log")
