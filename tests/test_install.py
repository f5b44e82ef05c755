"""scripts/install.sh as a newcomer runs it: `demo` (make demo), then `test` (make test), into a venv of its own.

The cache is warm (the engine's wheel, the target runtimes and pip's own cache are this machine's), so the two
commands install Python packages only. The second one must install the test tools: before the fix, `has NAME` without a
version always succeeded, and the packages stamp written by `demo` made `test` believe pytest and Ray were there."""

import os
import subprocess
from pathlib import Path

import pytest

from common.cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]
TEST_TOOLS = ("pytest", "xdist", "filelock", "ruff", "playwright", "ray", "psutil", "mkdocs", "material", "onnx",
              "onnxruntime")
TEST_STEP = "engine and test tools"


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory) -> dict:
    """A throwaway venv and a cache of its own whose engine wheel and runtimes are this machine's."""
    folder = tmp_path_factory.mktemp("newcomer")
    cache = folder / "cache"
    cache.mkdir()
    for part in ("wheels", "runtimes"):
        (cache / part).symlink_to(cache_dir() / part)
    return {"venv": folder / "venv", "env": {**os.environ, "VENV": str(folder / "venv"), "GFSUB_CACHE": str(cache)}}


def install(newcomer: dict, what: str) -> list:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install.sh"), what], env=newcomer["env"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def importable(newcomer: dict, module: str) -> bool:
    python = newcomer["venv"] / "bin" / "python"
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0


def step_line(lines: list, name: str) -> str:
    (line,) = [line for line in lines if line.startswith(name)]
    return line


def test_make_demo_then_make_test_installs_the_test_tools_and_a_missing_one_is_never_present(newcomer):
    demo = install(newcomer, "demo")
    assert step_line(demo, "engine and its packages")  # demo installs the engine, not the test tools
    assert importable(newcomer, "gfootball.env") and importable(newcomer, "kaggle_environments")
    assert not any(importable(newcomer, module) for module in ("pytest", "ray")), "demo installs no test tool"

    test = install(newcomer, "test")
    assert not step_line(test, TEST_STEP).rstrip().endswith("present"), "\n".join(test)
    assert [module for module in TEST_TOOLS if not importable(newcomer, module)] == []
    assert importable(newcomer, "torch") and importable(newcomer, "onnxscript"), "the .pt2 tests need torch"

    again = install(newcomer, "test")
    assert step_line(again, TEST_STEP).rstrip().endswith("present")
    assert step_line(again, "torch").rstrip().endswith("present")
    assert step_line(again, "Python packages").rstrip().endswith("present")

    python = newcomer["venv"] / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "pytest"], check=True, capture_output=True)
    healed = install(newcomer, "test")
    assert not step_line(healed, TEST_STEP).rstrip().endswith("present"), "a stamp stood for a missing pytest"
    assert importable(newcomer, "pytest")
