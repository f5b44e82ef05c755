"""Target runtimes: main.py's code is Python 3.7 / numpy 1.16 clean, plays identically in every runtime, and
`gfsub check --runtime` plays real matches with the agent in that runtime's own process."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from builder import build
from builder.compat import post_37_constructs
from builder.render import BACKENDS, embedded_module, runtime_modules
from gfsub.cli import app
from runtimes.hosted import WORKERS
from runtimes.registry import get_runtime, get_spec, load_specs, runtime_dir
from tests.user_model import notebook_model

ALL_TARGETS = "kaggle-2020,kaggle-2026,keras2,current,py313"
KERAS_TARGETS = "kaggle-2020,kaggle-2026,keras2,current"

def _embedded_sources() -> dict:
    sources = {f"agent_runtime/{name}.py": embedded_module(name).source
               for backend in BACKENDS for name in runtime_modules(backend)}
    for worker in sorted(WORKERS.glob("*.py")):  # run by the runtimes' own interpreters
        sources[f"runtimes/workers/{worker.name}"] = worker.read_text()
    return sources


@pytest.mark.parametrize("name", list(_embedded_sources()))
def test_code_for_old_runtimes_is_python37_and_numpy116_clean(name):
    """Fails fast, before the slow runtime matrix: the Python 3.7 grammar, no 3.8+ idioms, no post-1.16 numpy."""
    source = _embedded_sources()[name]
    assert post_37_constructs(source) == []  # the guard --encoder files pass too (builder/compat.py)


def test_the_guard_catches_what_python37_rejects():
    assert post_37_constructs("from typing import Optional\ndef f(x: Optional[int]) -> tuple:\n    return x\n") == []
    for bad in ("def f(x: int | None): pass\n", "def f(x) -> list[int]: pass\n", "zip(a, b, strict=True)\n",
                "from __future__ import annotations\n"):
        assert post_37_constructs(bad), bad
    with pytest.raises(SyntaxError):
        post_37_constructs("if (n := 3): pass\n")


def test_builtin_runtimes_are_data_and_ready():
    specs = load_specs()
    made = [name for name, spec in specs.items() if not spec.on_demand]
    assert made == ["kaggle-2020", "kaggle-2026", "keras2", "current", "py313"]
    assert [name for name in specs if name not in made] == [f"tf-keras-2.{minor}" for minor in range(16, 22)]
    assert all(specs[name].environment == {"TF_USE_LEGACY_KERAS": "1"} for name in specs if name not in made)
    assert specs["kaggle-2020"].python == "3.7" and "tensorflow-cpu==2.3.1" in specs["kaggle-2020"].requirements
    assert specs["py313"].backends == ("numpy",)
    versions = {name: get_runtime(specs[name]).versions for name in made}
    assert versions["kaggle-2026"]["Python"].startswith("3.12.") and versions["kaggle-2026"]["numpy"] == "2.0.2"
    assert versions["kaggle-2026"]["TensorFlow"] == "2.20.0"
    assert versions["kaggle-2020"]["Python"].startswith("3.7.") and versions["kaggle-2020"]["numpy"] == "1.18.5"
    assert versions["kaggle-2020"]["TensorFlow"] == "2.3.1"
    assert versions["keras2"]["TensorFlow"] == "2.15.1" and versions["keras2"]["numpy"] == "1.26.4"
    assert versions["py313"]["Python"].startswith("3.13.") and versions["py313"]["numpy"].startswith("2.")
    assert "TensorFlow" not in versions["py313"]


@pytest.fixture(scope="module")
def default_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("default")
    from gfsub.demo import make_untrained_model

    return make_untrained_model(folder / "untrained.keras")


@pytest.mark.parametrize("backend, dtype", [("numpy", "float32"), ("numpy", "float16"), ("keras", "float32"),
                                            ("keras", "float16")])
@pytest.mark.engine
def test_bundled_default_plays_identically_in_every_runtime(default_model, tmp_path, backend, dtype):
    targets = ALL_TARGETS if backend == "numpy" else KERAS_TARGETS
    result = build(default_model, tmp_path / "main.py", verify_steps=60, backend=backend, weights_dtype=dtype,
                   targets=targets)
    rows = {row.runtime: row for row in result.parity.runtimes}
    assert list(rows) == targets.split(",")
    for row in rows.values():
        assert row.error == "" and row.steps == 60, row
        if dtype == "float32":
            assert row.agreement == 1.0 and row.max_abs_dq <= 1e-4, row
        else:
            assert row.agreement >= 0.99, row
        assert 0 < row.p50 < 0.05 and row.step1 > 0
    assert rows["kaggle-2020"].versions.startswith("Python 3.7")


def test_keras_backend_cannot_target_a_runtime_without_tensorflow(default_model, tmp_path):
    out = CliRunner().invoke(app, ["build", str(default_model), "-o", str(tmp_path / "main.py"), "--backend",
                                   "keras", "--target", "current,py313"])
    assert out.exit_code == 2 and "cannot run in runtime py313" in out.stderr and len(out.stderr.splitlines()) == 1
    assert not (tmp_path / "main.py").exists()


AGENTS = {
    "needs_py310": """
        def agent(obs, config=None):
            match obs["step"]:
                case _:
                    return [0]
        """,
    "imports_missing_module": """
        import torch_that_is_not_there

        def agent(obs):
            return [0]
        """,
    "exits_at_step_5": """
        import os

        def agent(obs):
            if obs["step"] >= 5:
                os._exit(3)
            return [0]
        """,
    "hangs": """
        import time

        def agent(obs):
            while True:
                time.sleep(1)
        """,
    "public_rule_based": """
        from kaggle_environments.envs.football.helpers import *

        @human_readable_agent
        def agent(obs):
            if obs['ball_owned_team'] == 0:
                return Action.Right
            return Action.Shot
        """,
}


def _check(tmp_path, name, runtime, *extra):
    agent = tmp_path / f"{name}.py"
    agent.write_text(textwrap.dedent(AGENTS[name]))
    run_dir = tmp_path / f"run-{name}-{runtime}"
    out = CliRunner().invoke(app, ["check", str(agent), "--runtime", runtime, "--run-dir", str(run_dir),
                                   "--matches", "1", *extra])
    report = json.loads((run_dir / "report.json").read_text()) if (run_dir / "report.json").exists() else None
    return out, report


@pytest.mark.engine
def test_real_match_under_kaggle_2020_passes(default_model, tmp_path):
    main_py = build(default_model, tmp_path / "main.py", verify_steps=20, targets="kaggle-2020").output
    out = CliRunner().invoke(app, ["check", str(main_py), "--runtime", "kaggle-2020", "--run-dir",
                                   str(tmp_path / "run"), "--matches", "2", "--steps", "150"])
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert out.exit_code == 0 and report["verdict"] == "PASS", out.output
    assert report["runtime"]["name"] == "kaggle-2020" and "Python 3.7" in report["runtime"]["versions"]
    for match in report["matches"]:
        assert match["status"] == "DONE" and match["timing"]["steps"] == 150 and match["stderr"] == ""
        # the pipe's round trip is measured and sane; how fast it is, benchmarks/bench_sandbox.py measures (a
        # loaded machine doubles it), so this bound only catches a step that waits: a tenth of actTimeout
        assert 0 < match["runtime_overhead_p50"] < 0.05
    assert "pipe round trip p50" in " ".join(out.output.split())


@pytest.mark.engine
def test_python310_agent_is_error_on_kaggle_2020_and_done_on_current(tmp_path):
    out, report = _check(tmp_path, "needs_py310", "kaggle-2020", "--steps", "10", "--opponent", "do_nothing")
    assert out.exit_code == 1 and report["matches"][0]["status"] == "ERROR"
    assert "SyntaxError" in report["matches"][0]["stderr"]
    out, report = _check(tmp_path, "needs_py310", "current", "--steps", "10", "--opponent", "do_nothing")
    assert out.exit_code == 0 and report["matches"][0]["status"] == "DONE", out.output


@pytest.mark.engine
def test_missing_module_is_error_with_a_hint_naming_module_and_runtime(tmp_path):
    out, report = _check(tmp_path, "imports_missing_module", "kaggle-2020", "--steps", "5", "--opponent",
                         "do_nothing")
    stderr = report["matches"][0]["stderr"]
    assert report["matches"][0]["status"] == "ERROR"
    assert "hint: module 'torch_that_is_not_there' is not installed in runtime kaggle-2020 (Python 3.7" in stderr


@pytest.mark.engine
def test_public_rule_based_agent_runs_on_its_era_runtime(tmp_path):
    out, report = _check(tmp_path, "public_rule_based", "kaggle-2020", "--steps", "30")
    assert out.exit_code == 0 and report["matches"][0]["status"] == "DONE", out.output


@pytest.mark.engine
def test_agent_process_that_exits_is_error_and_one_that_hangs_is_killed(tmp_path):
    out, report = _check(tmp_path, "exits_at_step_5", "py313", "--steps", "20", "--opponent", "do_nothing")
    assert report["matches"][0]["status"] == "ERROR"
    assert "exited with status 3 at step 6" in report["matches"][0]["stderr"]  # obs["step"] 5: the 6th call

    out, report = _check(tmp_path, "hangs", "py313", "--steps", "5", "--opponent", "do_nothing",
                         "--match-timeout", "15")
    assert report["matches"][0]["status"] == "HUNG"
    # The agent's processes name its folder (the sandbox mounts it; unsandboxed, the worker is given its path).
    left = subprocess.run(["pgrep", "-f", "--", str(tmp_path)], capture_output=True, text=True).stdout
    assert left.strip() == "", "the agent's runtime process was killed with its match"


# ----- bad input: one line naming the runtime and the fix, non-zero exit, nothing written ------------------------

def _user_runtimes(tmp_path, text: str) -> dict:
    path = tmp_path / "gfsub-runtimes.toml"
    path.write_text(textwrap.dedent(text))
    return {**os.environ, "GFSUB_RUNTIMES_FILE": str(path), "GFSUB_CACHE": str(tmp_path / "cache")}


def _gfsub(args: list, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gfsub.cli", *args], capture_output=True, text=True, env=env)


def test_unknown_runtime_names_the_choices(tmp_path, default_model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["check", str(default_model), "--runtime", "kaggle-2019"],
                 ["build", str(default_model), "-o", str(tmp_path / "main.py"), "--target", "current,kaggle-2019"]):
        out = CliRunner().invoke(app, args)
        assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
        assert "unknown runtime 'kaggle-2019'" in out.stderr and "kaggle-2020" in out.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [], "nothing written: no main.py, no runs/"


def _create_fails(tmp_path, name: str, python: str, requirement: str) -> str:
    """`gfsub runtime create` of a user runtime that cannot be made: one line, exit 2, no venv left; -> stderr."""
    env = _user_runtimes(tmp_path, f'[{name}]\npython = "{python}"\nrequirements = ["{requirement}"]\n')
    out = _gfsub(["runtime", "create", name], env)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    runtimes = tmp_path / "cache" / "runtimes"
    left = [p.name for p in runtimes.iterdir() if not p.name.endswith(".lock")] if runtimes.exists() else []
    assert left == [], "no venv and no partial venv is left"
    return out.stderr


def test_missing_interpreter_says_how_to_get_one(tmp_path):
    stderr = _create_fails(tmp_path, "py399", "3.99", "numpy")
    assert "needs Python 3.99" in stderr and "pyenv install 3.99" in stderr and "--python" in stderr


def test_uninstallable_requirements_leave_nothing_behind(tmp_path):
    stderr = _create_fails(tmp_path, "broken", "3.11", "numpy==0.0.1")
    assert "runtime broken: pip could not install numpy==0.0.1" in stderr


def test_user_runtime_file_adds_a_runtime(tmp_path):
    env = _user_runtimes(tmp_path, """
        [py312-numpy1]
        python = "3.12"
        requirements = ["numpy==1.26.4"]
        backends = ["numpy"]
        """)
    created = _gfsub(["runtime", "create", "py312-numpy1"], env)
    assert created.returncode == 0, created.stderr
    listed = _gfsub(["runtime", "list"], env)
    assert "py312-numpy1" in listed.stdout and "kaggle-2020" in listed.stdout
    marker = json.loads((tmp_path / "cache" / "runtimes" / "py312-numpy1" / "gfsub-runtime.json").read_text())
    assert marker["versions"]["numpy"] == "1.26.4" and marker["versions"]["Python"].startswith("3.12.")
    assert runtime_dir("kaggle-2020") != tmp_path / "cache" / "runtimes" / "kaggle-2020"  # env only for the child
    assert get_spec("kaggle-2020").python == "3.7"


@pytest.mark.engine
def test_six_formats_play_identically_in_every_runtime(tmp_path):
    """Done-when of the runtimes issue, for every input format (see also test_formats for the user's own model)."""
    from tests.test_formats import SAVERS

    model = notebook_model(seed=12)
    for kind in ("keras", "h5-keras3-legacy", "weights.h5", "savedmodel", "npz", "pickle"):
        name, save = SAVERS[kind]
        save(model, tmp_path / f"{kind}-{name}")
        result = build(tmp_path / f"{kind}-{name}", tmp_path / f"{kind}-main.py", verify_steps=30,
                       targets=ALL_TARGETS)
        rows = result.parity.runtimes
        assert [row.runtime for row in rows] == ALL_TARGETS.split(",")
        assert all(row.agreement == 1.0 and row.max_abs_dq <= 1e-4 for row in rows), (kind, rows)
