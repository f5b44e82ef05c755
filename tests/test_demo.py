"""`make demo`'s main job, as the Makefile runs it (`python -m gfsub.demo`): the bundled default written from
`__main__`, built and verified in the default targets, checked release grade (2 full matches) and packaged."""

import os
import subprocess
import sys
import tarfile

import pytest

pytestmark = pytest.mark.engine  # builds main.py and plays two full matches on the real engine


def test_the_demo_builds_checks_and_packages_the_bundled_default(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "gfsub.demo", "--out", str(out)], capture_output=True, text=True,
                          cwd=tmp_path, env={**os.environ, "COLUMNS": "200"}, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", "gfsub's own lines only, on stdout"
    lines = done.stdout.splitlines()
    assert any(line.startswith("PASS — report: ") for line in lines) and "release grade" in done.stdout
    assert "parity        300 engine steps, action agreement 100.00%" in done.stdout
    with tarfile.open(out / "submission.tar.gz") as archive:
        assert archive.getnames() == ["main.py"]
    assert lines[-2].startswith("main.py: ") and lines[-1].startswith("upload:  ")
