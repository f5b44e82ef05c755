"""gfsub installs as a normal (non-editable) package too: the wheel carries the templates and runtime code."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_templates_runtime_and_console_script(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("gfsub-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "builder/templates/main.py.j2" in names
    for module in ("architecture", "observation", "codec", "policy", "keras_model", "keras_agent"):
        assert f"agent_runtime/{module}.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gfsub = builder.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_non_editable_install_finds_its_templates(tmp_path):
    """Install the wheel into a target dir and render-load the template from there, not from the repo."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("gfsub-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import builder.render as r, agent_runtime; "
            "print(r.template_environment().get_template('main.py.j2').filename); print(agent_runtime.__file__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={"PYTHONPATH": str(target)},
                         check=True, capture_output=True, text=True).stdout.split()
    assert all(path.startswith(str(target)) for path in out), out
