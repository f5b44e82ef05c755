"""Every benchmark script still runs: each one's --quick mode (a few steps, one repeat, the smallest settings, the real
engine and runtimes) as a real process, as a user runs it, its table written to a temporary --out and read back:
every expected row is there, with numbers, and none FAILED. A failed agent is a FAILED row, never a traceback."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 900  # seconds, for one quick run (they take well under a minute each here)
NUMBER = re.compile(r"\**[+-]?\d+(\.\d+)?( %|x)?\**( / [+-]?\d+(\.\d+)?)?")


def runtime_rows() -> list:
    """bench_runtimes' rows: each backend of every runtime `gfsub runtime create` makes."""
    from runtimes.registry import load_specs

    return [{0: spec.name, 2: backend} for spec in load_specs().values() if not spec.on_demand
            for backend in ("numpy", "keras") if backend in spec.backends]


# script, its arguments after --quick, the rows its table must hold (column: a pattern the cell fully matches)
AGENTS = [{0: name, 1: "DONE"} for name in ("notebook-predict", "keras", "numpy-f32", "numpy-f16")]
FORWARD = ([{0: family, 1: "current"} for family in ("notebook", "dense_simple115", "impala")]
           + [{0: family, 1: r"kaggle-2020 \(.*\)"} for family in ("dense_simple115", "impala")]
           + [{0: "impala, conv1"}]
           + [{0: "lstm_dynamo"}])  # the PyTorch family of --quick (torch optional)
SANDBOX = [{0: rf"{name} \(.*\)", 1: mode} for name in ("kaggle-2020", "current") for mode in ("unsandboxed",
                                                                                                "sandboxed")]
BUILD = [{0: r"demo \(default model\)", 1: r"\.keras", 2: "current", 6: "0 / 0"},
         {0: "dense_simple115", 1: r"\.keras", 2: "current", 6: "0 / 0"},
         {0: r"\*\*total\*\* \(2 models\)"}]
WANTED = [{0: "kaggle-2020, sandboxed"}, {0: "current, sandboxed"}, {0: r"current, in the match process.*"}]
QUICK_RUNS = [
    pytest.param("bench_agents.py", [], AGENTS, id="bench_agents"),
    pytest.param("bench_forward.py", [], FORWARD, id="bench_forward"),
    pytest.param("bench_league.py", ["--pools", "jobs"], [{0: "--jobs 1"}, {0: "--jobs 2"}], id="bench_league-jobs"),
    pytest.param("bench_league.py", ["--pools", "ray"], [{0: r"--ray \(2 nodes x 1 CPU\)"}], id="bench_league-ray",
                 marks=pytest.mark.alone),  # a Ray cluster of its own
    pytest.param("bench_runtimes.py", [], runtime_rows, id="bench_runtimes"),
    pytest.param("bench_sandbox.py", [], SANDBOX, id="bench_sandbox"),
    pytest.param("bench_wanted.py", [], WANTED, id="bench_wanted"),
    pytest.param("bench_build.py", [], BUILD, id="bench_build"),
]


def run_script(script: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=TIMEOUT)


def table_rows(text: str) -> list:
    """The cells of every Markdown table row (separator rows left out)."""
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]] for line in text.splitlines()
            if line.startswith("|") and not re.fullmatch(r"[|\-\s]+", line)]


def matching(rows: list, wanted: dict) -> list:
    return [row for row in rows if all(len(row) > column and re.fullmatch(pattern, row[column])
                                       for column, pattern in wanted.items())]


@pytest.mark.engine
@pytest.mark.parametrize("script, args, expected", QUICK_RUNS)
def test_quick_mode(script, args, expected, tmp_path):
    out = tmp_path / "table.md"
    done = run_script(script, "--quick", "--out", str(out), *args)
    assert done.returncode == 0, f"{script} --quick exited {done.returncode}:\n{done.stdout[-3000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr
    text = out.read_text()
    assert "FAILED" not in text, text
    rows = table_rows(text)
    for wanted in expected() if callable(expected) else expected:
        found = matching(rows, wanted)
        assert found, f"no row {wanted} in {script}'s table:\n{text}"
        for row in found:
            numbers = [cell for cell in row if NUMBER.fullmatch(cell)]
            assert len(numbers) >= 2, f"a row without its numbers: {row}"
    if script == "bench_forward.py":
        assert re.search(r"full agent step .* p50 \d+\.\d+ ms, p99 \d+\.\d+ ms", text), text


@pytest.mark.engine
def test_failed_agent_is_a_failed_row(tmp_path):
    """An agent that cannot load (the old notebook-style agent's import of a name gone from agent_runtime) is a
    FAILED row with its error's line, the engine-only match still measured; the script exits 1, no traceback."""
    broken = tmp_path / "broken" / "main.py"
    broken.parent.mkdir()
    broken.write_text("from agent_runtime.observation import FrameDifference\n\n\n"
                      "def agent(obs):\n    return [0]\n")
    out = tmp_path / "table.md"
    done = run_script("bench_agents.py", "--quick", "--steps", "5", "--agents", f"broken={broken}", "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    text = out.read_text()
    [row] = matching(table_rows(text), {0: "broken"})
    assert row[1].startswith("FAILED: ") and "FrameDifference" in row[1], row
    assert re.search(r"engine-only match \(do_nothing\): \d+\.\d+ s wall", text), text
    assert "FAILED rows: 1: broken: " in done.stderr


def test_quick_never_writes_the_published_tables():
    published = ROOT / "docs" / "benchmarks" / "results.md"
    before = published.read_bytes()
    done = run_script("bench_agents.py", "--quick", "--out", str(published))
    assert done.returncode != 0 and "--quick never writes the published" in done.stderr
    assert published.read_bytes() == before
