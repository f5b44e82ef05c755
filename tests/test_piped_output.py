"""Output that pipes well: with stdout and stderr a pipe (CI, `| tee`, a log file) and no COLUMNS, every error and
verdict of the real CLI is one line, with no colour codes, so that a grep finds it whole; COLUMNS still wraps."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Off a terminal rich would otherwise take its width (and colour) from these.
NOT_INHERITED = ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS")
LONG_NAME = "a-model-with-a-name-long-enough-that-its-error-line-does-not-fit-in-eighty-columns"


def gfsub(*args, cwd: Path, columns: "int | None" = None) -> subprocess.CompletedProcess:
    """`python -m gfsub ARGS` in a fresh process, its stdout and stderr pipes (and stdin not a terminal either)."""
    env = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "gfsub", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


def lines(text: str) -> list:
    assert "\x1b" not in text, f"colour or control codes in piped output: {text!r}"
    return [line for line in text.splitlines() if line.strip()]


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The one line a user error is: exit 2, nothing on stdout."""
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    errors = lines(done.stderr)
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: ") and len(errors[0]) > 80, errors[0]  # longer than rich's default width
    return errors[0]


def the_line(pattern: str, text: str) -> str:
    """The one line of `text` that `pattern` matches whole."""
    found = [line for line in lines(text) if re.fullmatch(pattern, line)]
    assert len(found) == 1, f"no single line matches {pattern!r} in:\n{text}"
    return found[0]


# ----- no engine ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["missing", "garbage"])
def test_a_bad_build_is_one_line_naming_the_file(tmp_path, case):
    model = tmp_path / f"{LONG_NAME}.keras"
    if case == "garbage":
        model.write_bytes(b"this is no keras file, only some text\n" * 20)
    line = one_error_line(gfsub("build", model, "-o", tmp_path / "out" / "main.py", "--target", "current",
                                cwd=tmp_path))
    assert str(model) in line or model.name in line, line
    assert not (tmp_path / "out").exists()


def test_tables_keep_their_natural_width_and_columns_still_wraps(tmp_path):
    """`gfsub runtime list`: piped, each runtime is one row on one line; with COLUMNS=60 the table fits 60."""
    from runtimes.registry import load_specs

    specs = load_specs()
    piped = gfsub("runtime", "list", cwd=tmp_path)
    assert piped.returncode == 0, piped.stdout + piped.stderr
    rows = lines(piped.stdout)
    for spec in specs.values():
        row = [line for line in rows if re.match(rf"│ {re.escape(spec.name)} +│", line)]
        assert len(row) == 1 and " ".join(spec.requirements) in row[0], piped.stdout
    assert max(len(line) for line in rows) > 60, "the table is wider than the COLUMNS case below"
    narrow = gfsub("runtime", "list", cwd=tmp_path, columns=60)
    assert narrow.returncode == 0, narrow.stdout + narrow.stderr
    assert max(len(line) for line in lines(narrow.stdout)) <= 60, narrow.stdout
    assert len(lines(narrow.stdout)) > len(rows), "COLUMNS=60 wraps the rows"


def test_a_bad_replay_input_is_one_line(tmp_path):
    episode = tmp_path / f"{LONG_NAME}.json"
    episode.write_text("<html>a replay page, not its JSON</html>")
    (tmp_path / "main.py").write_text("def agent(obs, config=None):\n    return [0]\n")
    line = one_error_line(gfsub("replay", episode, "main.py", "--run-dir", tmp_path / "out", cwd=tmp_path))
    assert str(episode) in line and "is not JSON" in line, line
    assert not (tmp_path / "out").exists()


# ----- on the engine ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checked(tmp_path_factory, gfsub_agents) -> tuple:
    """(folder, the completed `gfsub check` of the session's gfsub main.py: 2 matches of 30 steps)."""
    folder = tmp_path_factory.mktemp("piped")
    shutil.copy(gfsub_agents["main"], folder / "main.py")
    done = gfsub("check", "main.py", "--matches", 2, "--steps", 30, "--run-dir", folder / "check-run-directory",
                 cwd=folder)
    return folder, done


@pytest.mark.engine
def test_a_checks_coverage_and_verdict_are_one_line_each(checked):
    folder, done = checked
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines(done.stderr) == []
    coverage = the_line(r"coverage: 2 match\(es\), left and right, 30 of 3002 steps, vs engine, runtime current, .+ "
                        r"— not release grade \(`gfsub package` needs .+\)", done.stdout)
    assert len(coverage) > 80 and "full-length matches (3002 steps, these had 30)" in coverage
    report = folder / "check-run-directory" / "report.json"
    assert len(the_line(rf"PASS — report: {re.escape(str(report))}", done.stdout)) > 80
    the_line(r"W/D/L \d/\d/\d, goal difference [+-]\d+, win rate \d+% \(95% CI \d+%-\d+%\)", done.stdout)
    the_line(r"runtime: current \(.+\)(; pipe round trip .+)?", done.stdout)
    the_line(r"step1, overage and proj \(.+\) in s; p50/p99/max of steps 2\.\. in ms", done.stdout)  # the caption
    the_line(rf"html report: {re.escape(str(report.parent / 'report.html'))}", done.stdout)


@pytest.mark.engine
def test_a_replays_verdict_is_one_line_and_columns_still_wraps_it(checked):
    folder, _ = checked
    episode = folder / "check-run-directory" / "match-000.json"
    verdict = (r"not reproduced: main\.py played all 30 steps, and 30 of 30 recorded actions match\. main\.py's "
               r"code path was clean on these observations; what else differed: .+")
    done = gfsub("replay", episode, "main.py", "--side", 0, "--run-dir", folder / "replay-piped", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    the_line(verdict, done.stdout)
    the_line(r"played 30 of \d+ recorded steps: step 1 .+ s, p50 .+ ms, p99 .+ ms; overage pool left .+ s",
             done.stdout)
    the_line(rf"report: {re.escape(str(folder / 'replay-piped' / 'report.json'))}", done.stdout)

    narrow = gfsub("replay", episode, "main.py", "--side", 0, "--run-dir", folder / "replay-narrow", cwd=folder,
                   columns=60)
    assert narrow.returncode == 0, narrow.stdout + narrow.stderr
    assert not [line for line in lines(narrow.stdout) if re.fullmatch(verdict, line)], "COLUMNS=60 wraps it"
    assert max(len(line) for line in lines(narrow.stdout)) <= 60, narrow.stdout
    assert "30 of 30 recorded actions" in " ".join(narrow.stdout.split())
