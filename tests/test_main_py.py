"""The generated main.py under Kaggle's rules: loader, exec namespace, real match, never raising, parity gate."""

import hashlib
import re

import numpy as np
import pytest

from builder import build
from builder.describe import describe
from builder.keras.splitter import Architecture
from builder.keras.weight_order import candidate_orders
from builder.render import BACKENDS, embedded_module, runtime_modules
from builder.verify import Reference, verify_main_py
from common import VERSION
from common.kaggle import make_football
from tests.user_model import notebook_model

pytestmark = pytest.mark.engine  # builds main.py files or plays matches on the real engine


@pytest.fixture(scope="module", params=list(BACKENDS))
def built(request, tmp_path_factory, notebook_user_model):
    folder = tmp_path_factory.mktemp(f"built-{request.param}")
    notebook_user_model.save(folder / "model.keras")
    return build(folder / "model.keras", folder / "main.py", fallback_action=7, verify_steps=40,
                 backend=request.param, targets="current")


def test_real_match_through_kaggle_file_loader(built):
    """kaggle-environments reads main.py from its path, as for a submission, and plays it to the end."""
    env = make_football(steps=200, team_2=0, logdir="/tmp/gfsub-test-football")
    steps = env.run([str(built.output), "do_nothing"])
    assert len(steps) == 201
    assert [state.status for state in steps[-1]] == ["DONE", "DONE"]
    actions = [step[0].action for step in steps[1:]]
    assert all(len(a) == 1 and 0 <= a[0] <= 18 for a in actions)
    agent_stderr = [log[0].get("stderr", "") for log in env.logs[1:] if log]
    assert not any(agent_stderr), agent_stderr[:3]


def test_exec_with_empty_namespace_gives_agent_last(built):
    source = built.output.read_text()
    assert "__file__" not in source, "exec gives main.py no __file__: it must not need one"
    namespace: dict = {}
    exec(compile(source, "<kaggle>", "exec"), namespace)
    callables = [name for name, value in namespace.items() if callable(value)]
    assert callables[-1] == "agent"
    assert namespace["POLICY"] is not None


def test_agent_never_raises(built, capfd):
    namespace: dict = {}
    exec(built.output.read_text(), namespace)
    for garbage in ({}, {"players_raw": []}, {"players_raw": [{"ball": "nonsense"}]}, None):
        assert namespace["agent"](garbage) == [7]
    assert "Traceback" in capfd.readouterr().err


def test_provenance_header_and_layout(built):
    source = built.output.read_text()
    header = source[:2000]
    assert f"gfsub {VERSION}" in header
    assert hashlib.sha256(built.source.path.read_bytes()).hexdigest() in header
    assert describe(Architecture()) in header and f"backend        : {built.backend}" in header
    # CleanRL's order: header, imports, settings, runtime code, weights, `agent` last
    markers = ("\nimport ", "\nGRAPH = {", "\nOBSERVATION = [", "\nFALLBACK_ACTION = ", "# ===== agent_runtime/",
               "\nWEIGHTS_MANIFEST = {", "\nWEIGHTS_BLOB = ", f"POLICY = {BACKENDS[built.backend][1]}(",
               "def agent(obs, config=None)")
    positions = [source.index(marker) for marker in markers]
    assert positions == sorted(positions)
    assert not re.search(r"\.predict\(", source), "never model.predict per step"


def test_runtime_code_is_agent_runtime_verbatim(built):
    source = built.output.read_text()
    header = source[:source.index("# ===== agent_runtime/")]
    for name in runtime_modules(built.backend):
        module = embedded_module(name)
        assert module.source in source, name
        assert all(f"\n{statement}\n" in header for statement in module.imports), name  # imported once, at the top
    assert "from agent_runtime" not in source and "import agent_runtime" not in source
    assert "\n\n\n\n" not in source, "no blank gaps where imports were"


def test_model_load_failure_plays_fallback_and_fails_verification(built, tmp_path, capfd):
    source = built.output.read_text()
    start = source.index('WEIGHTS_BLOB = "') + len('WEIGHTS_BLOB = "') + 1000
    tampered = tmp_path / "main.py"
    tampered.write_text(source[:start] + ("A" if source[start] != "A" else "B") + source[start + 1:])
    namespace: dict = {}
    exec(tampered.read_text(), namespace)
    assert namespace["POLICY"] is None and namespace["agent"]({}) == [7]
    assert "WeightBlobError" in capfd.readouterr().err
    report = verify_main_py(tampered, _reference(built, built.model.named), steps=10)
    assert report.load_failed and not report.passed


def _reference(built, named) -> Reference:
    return Reference(built.model.graph.as_data(), named, built.observation)


def test_verification_refuses_a_main_py_that_plays_differently(built):
    other = notebook_model(seed=99)
    names = [name for name, _ in candidate_orders(Architecture())[0]]
    report = verify_main_py(built.output, _reference(built, list(zip(names, other.get_weights(), strict=True))),
                            steps=30)
    assert not report.passed
    assert report.agreement < 1.0 and report.max_abs_dq > 1e-4
    assert np.isfinite(report.max_abs_dq)


def test_the_graph_and_the_pipeline_are_readable_literals_that_rebuild_the_model(built):
    import ast

    tree = ast.parse(built.output.read_text())
    literals = {node.targets[0].id: node.value for node in tree.body if isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)}
    graph = ast.literal_eval(literals["GRAPH"])
    assert graph == built.model.graph.as_data()
    assert literals["GRAPH"].end_lineno - literals["GRAPH"].lineno >= len(graph["nodes"]), "one node per line"
    assert ast.literal_eval(literals["OBSERVATION"]) == built.observation
    manifest = literals["WEIGHTS_MANIFEST"]
    assert manifest.end_lineno - manifest.lineno >= len(built.model.named), "one array per line, as the graph"


def test_report_pages_read_the_provenance_from_the_header(built):
    from harness.html_report import provenance

    found = dict(provenance(built.output))
    assert found["built by"] == f"gfsub {VERSION}" and found["source sha256"] == built.source.sha256
    assert found["architecture"].startswith(built.description) and found["backend"].startswith(built.backend)
