"""gfsub installs as a normal (non-editable) package too: the wheel carries every module, the templates, the
runtimes' definitions and workers, and the report page's script."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("agent_runtime", "common", "runtimes", "builder", "harness", "gfsub")
DATA = ("builder/templates/main.py.j2", "runtimes/runtimes.toml", "runtimes/workers/agent_worker.py",
        "runtimes/workers/source_worker.py", "harness/report_page.js")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(folder), str(ROOT)], check=True, capture_output=True)
    return next(folder.glob("gfsub-*.whl"))


def test_the_wheel_ships_every_module_the_data_files_and_the_console_script(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(path.relative_to(ROOT)) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
               if "__pycache__" not in path.parts}
    assert "agent_runtime/layers.py" in modules and "runtimes/workers/agent_worker.py" in modules
    assert sorted(modules - names) == []
    assert sorted(set(DATA) - names) == []
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gfsub = gfsub.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_a_non_editable_install_finds_its_templates_runtimes_and_workers(wheel, tmp_path):
    """Install the wheel into a target dir and use it from there, not from the repo."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import builder.render as r, agent_runtime, runtimes.registry as g, runtimes.hosted as h; "
            "print(r.template_environment().get_template('main.py.j2').filename); print(agent_runtime.__file__); "
            "print(g.definition_files()[0]); print(h.WORKER); assert h.WORKER.is_file(); "
            "assert 'kaggle-2020' in g.load_specs()")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         check=True, capture_output=True, text=True).stdout.split()
    assert len(out) == 4 and all(path.startswith(str(target)) for path in out), out
