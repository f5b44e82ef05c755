"""An agent's own helper modules are its own: a multi-file agent whose helpers are named like every gfsub module
imports its files, not gfsub's, in a league and in `check --runtime kaggle-2020`, as on Kaggle."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine  # plays real matches

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent_runtime", "common", "runtimes", "builder", "harness", "gfsub")


def gfsub_module_names() -> list:
    """Every module file name of gfsub's packages (a package's own name is not a helper's name)."""
    names = {path.stem for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    return sorted(names - {"__init__", "__main__", *PACKAGES})


@pytest.fixture(scope="module")
def agent(tmp_path_factory) -> Path:
    """main.py plus one helper per gfsub module name, each saying whose it is."""
    folder = tmp_path_factory.mktemp("agent")
    names = gfsub_module_names()
    for name in names:
        (folder / f"{name}.py").write_text('OWNER = "the agent"\n')
    (folder / "main.py").write_text(textwrap.dedent(f"""
        import sys

        # Kaggle's 2020 loader put nothing on sys.path: agents added their folder, where Kaggle had put it
        sys.path.append("/kaggle_simulations/agent")
        HELPERS = [__import__(name) for name in {names!r}]


        def agent(obs, config=None):
            wrong = [module.__name__ for module in HELPERS if getattr(module, "OWNER", None) != "the agent"]
            if wrong:
                raise RuntimeError("not the agent's own modules: " + ", ".join(wrong))
            return [5]
        """))
    return folder / "main.py"


def _gfsub(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfsub", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"}, timeout=900)


def test_the_helpers_are_named_like_gfsub_modules():
    names = gfsub_module_names()
    assert {"files", "errors", "load", "render", "options", "validate", "package", "agent_worker"} <= set(names)
    assert len(names) >= 40


def test_check_in_kaggle_2020_imports_the_agents_own_helpers(agent, tmp_path):
    out = _gfsub("check", str(agent), "--runtime", "kaggle-2020", "--opponent", "do_nothing", "--matches", "1",
                 "--steps", "10", "--run-dir", "run", cwd=tmp_path)
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [m["status"] for m in report["matches"]] == ["DONE"], report["matches"][0]["stderr"]
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_league_imports_each_agents_own_helpers(agent, tmp_path):
    out = _gfsub("league", str(agent), "run_right", "--matches-per-pair", "2", "--steps", "10", "--run-dir",
                 "league", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "league" / "report.json").read_text())
    assert report["complete"] and all(not standing["forfeits"] for standing in report["standings"])
    assert {m["home_status"] for m in report["matches"]} == {"DONE"}
