"""Target runtimes: the Python worlds a main.py must run in, as data (runtimes.toml) made real as cached venvs.

A runtime is an interpreter (found by `--python`, then pyenv, then PATH) plus pinned pip requirements,
installed once into `$GFSUB_CACHE/runtimes/NAME` and reused. `current` is gfsub's own interpreter.
"""

import fcntl
import hashlib
import importlib.metadata
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import (
    MissingInterpreterError,
    RuntimeDefinitionError,
    RuntimeInstallError,
    UnknownRuntimeError,
)
from common.files import cache_folder

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CURRENT = "current"
USER_FILE = "gfsub-runtimes.toml"
MARKER = "gfsub-runtime.json"
# Packages whose versions a runtime reports (distribution name -> label).
REPORTED = {"numpy": "numpy", "tensorflow-cpu": "TensorFlow", "tensorflow": "TensorFlow",
            "kaggle-environments": "kaggle-environments", "torch": "torch"}


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime as its TOML table defines it."""

    name: str
    python: str  # "3.7", or "current" for gfsub's own interpreter
    requirements: tuple = ()
    backends: tuple = ("numpy", "keras")
    description: str = ""
    defined_in: str = ""
    environment: dict = field(default_factory=dict, hash=False, compare=False)  # set for its processes
    on_demand: bool = False  # made only when a build needs it, not by a plain `gfsub runtime create`

    @property
    def is_current(self) -> bool:
        return self.python == CURRENT

    def fingerprint(self) -> str:
        """Changes when the definition does, so an outdated venv is rebuilt."""
        text = json.dumps([self.python, list(self.requirements)] + ([self.environment] if self.environment else []))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Runtime:
    """A runtime ready to run agents: its interpreter and what it has installed."""

    spec: RuntimeSpec
    python: str
    versions: dict = field(default_factory=dict)  # label -> version, "Python" first

    @property
    def name(self) -> str:
        return self.spec.name

    def describe(self) -> str:
        """e.g. `Python 3.7.16, numpy 1.18.5, TensorFlow 2.3.1`."""
        return ", ".join(f"{label} {version}" for label, version in self.versions.items()
                         if label != "kaggle-environments")


def runtime_dir(name: str) -> Path:
    return cache_folder("runtimes") / name


def definition_files() -> list:
    """The built-in runtimes, then the user's file (its tables add to or replace the built-in ones)."""
    files = [importlib.resources.files("runtimes") / "runtimes.toml"]
    user = os.environ.get("GFSUB_RUNTIMES_FILE")
    if user:
        files.append(Path(user))
    elif Path(USER_FILE).is_file():
        files.append(Path(USER_FILE))
    return files


def load_specs() -> dict:
    """name -> RuntimeSpec from every definition file."""
    specs = {}
    for path in definition_files():
        try:
            tables = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RuntimeDefinitionError(path, f"cannot be read ({exc})", "fix the TOML syntax") from exc
        for name, table in tables.items():
            specs[name] = _spec_from_table(name, table, str(path))
    return specs


def _spec_from_table(name: str, table: dict, path: str) -> RuntimeSpec:
    if not isinstance(table, dict) or "python" not in table:
        raise RuntimeDefinitionError(path, f"runtime [{name}] has no python = \"3.X\"",
                                     "give each runtime a python version, e.g. python = \"3.7\"")
    python = str(table["python"])
    if python != CURRENT and not re.fullmatch(r"3\.\d+", python):
        raise RuntimeDefinitionError(path, f"runtime [{name}]: python = {python!r} is not like \"3.7\"",
                                     "use a major.minor version such as \"3.7\", or \"current\"")
    backends = tuple(table.get("backends", ("numpy",)))
    unknown = set(backends) - {"numpy", "keras"}
    if unknown:
        raise RuntimeDefinitionError(path, f"runtime [{name}]: unknown backends {sorted(unknown)}",
                                     "backends may be numpy and keras")
    environment = table.get("environment", {})
    if not isinstance(environment, dict):
        raise RuntimeDefinitionError(path, f"runtime [{name}]: environment is not a table",
                                     "write it as environment = {NAME = \"value\"}")
    return RuntimeSpec(name=name, python=python, requirements=tuple(str(r) for r in table.get("requirements", ())),
                       backends=backends, description=str(table.get("description", "")), defined_in=path,
                       environment={str(k): str(v) for k, v in environment.items()},
                       on_demand=bool(table.get("on_demand", False)))


def get_spec(name: str) -> RuntimeSpec:
    specs = load_specs()
    if name not in specs:
        raise UnknownRuntimeError(None, f"unknown runtime {name!r}",
                                  f"choose one of {', '.join(specs)} (see `gfsub runtime list`), "
                                  f"or define it in {USER_FILE}")
    return specs[name]


def parse_names(names: str) -> list:
    """'kaggle-2020,current' -> the specs, in order, each checked."""
    wanted = [part.strip() for part in names.split(",") if part.strip()]
    if not wanted:
        raise UnknownRuntimeError(None, "no runtime named", "pass e.g. --target kaggle-2020,current")
    return [get_spec(name) for name in dict.fromkeys(wanted)]


# ----- interpreters -------------------------------------------------------------------------------------------

def _python_version(executable: str) -> "tuple | None":
    try:
        out = subprocess.run([executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\s*", out.stdout) if out.returncode == 0 else None
    return tuple(int(v) for v in match.groups()) if match else None


def _pyenv_candidates(version: str) -> list:
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        root = out.stdout.strip() if out.returncode == 0 else None
    root = Path(root or Path.home() / ".pyenv")
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found = [p for p in versions.iterdir() if re.fullmatch(re.escape(version) + r"\.\d+", p.name)]
    found.sort(key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True)  # newest patch release first
    return [str(p / "bin" / "python") for p in found]


def find_interpreter(spec: RuntimeSpec, python: "str | None" = None) -> str:
    """An interpreter of the spec's version: `python` if given, else pyenv's, else `pythonX.Y` on PATH."""
    want = tuple(int(v) for v in spec.python.split("."))
    if python is not None:
        got = _python_version(python)
        if got is None or got[:2] != want:
            found = "not a Python interpreter" if got is None else "Python {}.{}".format(*got)
            raise MissingInterpreterError(python, f"is {found}, but runtime {spec.name} needs Python {spec.python}",
                                          f"pass --python with a Python {spec.python} interpreter")
        return python
    on_path = shutil.which(f"python{spec.python}")
    for candidate in _pyenv_candidates(spec.python) + ([on_path] if on_path else []):
        got = _python_version(candidate)
        if got is not None and got[:2] == want:
            return candidate
    raise MissingInterpreterError(
        None, f"runtime {spec.name} needs Python {spec.python}, which is not on this machine (looked in pyenv and "
        f"for python{spec.python} on PATH)",
        f"install it with `pyenv install {spec.python}` or `uv python install {spec.python}` (or conda), "
        f"or pass --python /path/to/python{spec.python}")


# ----- venvs ---------------------------------------------------------------------------------------------------

def current_runtime(spec: "RuntimeSpec | None" = None) -> Runtime:
    spec = spec or get_spec(CURRENT)
    versions = {"Python": "{}.{}.{}".format(*sys.version_info[:3])}
    for distribution, label in REPORTED.items():
        try:
            versions.setdefault(label, importlib.metadata.version(distribution))
        except importlib.metadata.PackageNotFoundError:
            continue
    return Runtime(spec, sys.executable, versions)


def _read_marker(spec: RuntimeSpec) -> "dict | None":
    marker = runtime_dir(spec.name) / MARKER
    try:
        data = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    python = runtime_dir(spec.name) / "bin" / "python"
    return data if data.get("fingerprint") == spec.fingerprint() and python.exists() else None


def is_ready(spec: RuntimeSpec) -> bool:
    return spec.is_current or _read_marker(spec) is not None


def get_runtime(spec: RuntimeSpec) -> "Runtime | None":
    """The runtime if it is ready to use, else None."""
    if spec.is_current:
        return current_runtime(spec)
    data = _read_marker(spec)
    if data is None:
        return None
    return Runtime(spec, str(runtime_dir(spec.name) / "bin" / "python"), data["versions"])


def ensure_runtime(spec: RuntimeSpec, python: "str | None" = None, on_create=None) -> Runtime:
    """The runtime, creating its venv first if it is missing or outdated (`on_create(spec)` is told)."""
    runtime = get_runtime(spec)
    if runtime is not None:
        return runtime
    lock_path = cache_folder("runtimes") / f".{spec.name}.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another gfsub may be creating the same runtime
        runtime = get_runtime(spec)
        if runtime is None:
            if on_create is not None:
                on_create(spec)
            runtime = _create(spec, python)
    return runtime


def _create(spec: RuntimeSpec, python: "str | None") -> Runtime:
    interpreter = find_interpreter(spec, python)
    final = runtime_dir(spec.name)
    partial = final.with_name(f".{spec.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        _run_step(spec, [interpreter, "-m", "venv", str(partial)], "could not create the venv")
        venv_python = str(partial / "bin" / "python")
        if spec.requirements:
            _run_step(spec, [venv_python, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                             *spec.requirements], "pip could not install " + " ".join(spec.requirements))
        versions = _installed_versions(venv_python)
        (partial / MARKER).write_text(json.dumps({"fingerprint": spec.fingerprint(), "spec": spec.name,
                                                  "interpreter": interpreter, "versions": versions}, indent=2))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return Runtime(spec, str(final / "bin" / "python"), versions)


def _run_step(spec: RuntimeSpec, command: list, problem: str) -> None:
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode != 0:
        lines = [line for line in (out.stderr + out.stdout).splitlines()
                 if line.strip() and not line.startswith("WARNING: Location")]
        last = lines[-1].strip() if lines else f"exit code {out.returncode}"
        raise RuntimeInstallError(None, f"runtime {spec.name}: {problem} ({last})",
                                  f"check its requirements in {spec.defined_in} and that your package index "
                                  f"serves them for Python {spec.python}")


def _installed_versions(venv_python: str) -> dict:
    """{"Python": ..., "numpy": ..., "TensorFlow": ...} of a venv, read once when it is made."""
    versions = {"Python": "{}.{}.{}".format(*_python_version(venv_python))}
    out = subprocess.run([venv_python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
                         capture_output=True, text=True)
    if out.returncode == 0:
        # names as PEP 503 normalises them: pip lists TensorFlow 2.20's wheel as tensorflow_cpu
        installed = {re.sub(r"[-_.]+", "-", row["name"]).lower(): row["version"] for row in json.loads(out.stdout)}
        for distribution, label in REPORTED.items():
            if distribution in installed:
                versions.setdefault(label, installed[distribution])
    return versions


def remove_runtime(spec: RuntimeSpec) -> bool:
    folder = runtime_dir(spec.name)
    if spec.is_current or not folder.exists():
        return False
    shutil.rmtree(folder)
    return True
