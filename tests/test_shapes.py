"""Weights-only inputs: the architecture from the shapes, and weights found in an old hand-written main.py."""

import base64
import json
import os
import pickle
import textwrap
import zlib
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from builder import build
from builder.describe import n_params
from builder.keras import shapes
from builder.keras.shapes import describe_variant, infer_architectures
from builder.keras.splitter import Architecture, PoolSpec
from gfsub.cli import app
from tests.helpers import main_py_q_values, model_q_values
from tests.user_model import notebook_model

VARIANTS = {
    "notebook": ({}, "no pooling, dense 512-256, plain head"),
    "max-pool": ({"max_pool": True}, "max-pool 2x2 same after each conv, dense 512-256, plain head"),
    "dueling": ({"dueling": True, "dense_units": (256,)}, "no pooling, dense 256, dueling head"),
    "max-pool-dueling": ({"max_pool": True, "dueling": True, "dense_units": (256, 128)},
                         "max-pool 2x2 same after each conv, dense 256-128, dueling head"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_one_variant_that_fits_is_found(variant):
    options, label = VARIANTS[variant]
    model = notebook_model(seed=7, **options)
    found = infer_architectures(model.get_weights())
    assert [describe_variant(arch) for arch in found] == [label]
    assert n_params(found[0]) == model.count_params()


def test_valid_pooling_is_told_apart_from_same_pooling():
    arch = Architecture.from_dict({**Architecture().to_dict(), "convs": [
        {**conv, "pool": {"size": [2, 2], "strides": [2, 2], "padding": "valid"}} for conv in
        Architecture().to_dict()["convs"]]})
    arrays = [np.zeros(shape, np.float32) for _, shapes in arch.layer_shapes() for shape in shapes]
    assert infer_architectures(arrays) == [arch]
    assert arch.layer_shapes()[12][1][0] == (128, 512), "the issue's '(128, 512)' is valid pooling"


@pytest.mark.engine
def test_weights_only_max_pool_model_builds_without_arch(tmp_path, engine_observations):
    model = notebook_model(seed=3, max_pool=True, dense_units=(512, 256))
    np.savez(tmp_path / "w.npz", *model.get_weights())
    result = build(tmp_path / "w.npz", tmp_path / "main.py", verify_steps=30, targets="current")
    assert result.model.arch.convs[0].pool is not None and "the one known variant that fits" in result.model.origin
    assert "rebuilt" in result.parity.reference, "weights-only: the summary says the reference is the rebuild"
    got, want = main_py_q_values(result.output, engine_observations), model_q_values(model, engine_observations)
    assert np.max(np.abs(got - want)) <= 1e-4


def test_the_known_variants_never_collide_on_the_smm_input():
    """No pooling, valid and same 2x2 pooling give three different fc1 sizes on 72 x 96 (so one always wins)."""
    sizes = []
    for pool in shapes.POOLS.values():
        convs = tuple(replace(conv, pool=pool) for conv in Architecture().convs)
        sizes.append(Architecture(convs=convs).layer_shapes()[12][1][0][0])
    assert len(set(sizes)) == 3, sizes


def test_several_fitting_variants_are_refused_and_written_as_arch_files(tmp_path, monkeypatch):
    """If a catalogue ever holds two variants with the same shapes (here: a 1x1 pool, which changes nothing), the
    build refuses, names both, and `gfsub arch --from` writes each as an --arch file."""
    monkeypatch.setitem(shapes.POOLS, "max-pool 1x1", PoolSpec((1, 1), (1, 1), "valid"))
    np.savez(tmp_path / "w.npz", *notebook_model(seed=2).get_weights())
    out = CliRunner().invoke(app, ["build", str(tmp_path / "w.npz"), "-o", str(tmp_path / "main.py")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "fit 2 known variants" in out.stderr and f"gfsub arch --from {tmp_path / 'w.npz'}" in out.stderr
    assert not (tmp_path / "main.py").exists()
    listed = CliRunner().invoke(app, ["arch", "--from", str(tmp_path / "w.npz"), "--out-dir", str(tmp_path)])
    assert listed.exit_code == 0
    written = [Architecture.from_dict(json.loads((tmp_path / f"arch-{i}.json").read_text())) for i in (1, 2)]
    assert {conv.pool for arch in written for conv in arch.convs} == {None, PoolSpec((1, 1), (1, 1), "valid")}
    chosen = CliRunner().invoke(app, ["build", str(tmp_path / "w.npz"), "-o", str(tmp_path / "main.py"), "--arch",
                                      str(tmp_path / "arch-1.json"), "--verify-steps", "10", "--target", "current"])
    assert chosen.exit_code == 0, chosen.output


def test_arch_from_prints_the_inferred_json(tmp_path):
    np.savez(tmp_path / "w.npz", *notebook_model(seed=2, dueling=True).get_weights())
    out = CliRunner().invoke(app, ["arch", "--from", str(tmp_path / "w.npz")])
    assert out.exit_code == 0 and json.loads(out.stdout)["dueling"] is True


# ----- an old main.py of 2020's public kernels ---------------------------------------------------------------------

OLD_MAIN_PY = '''
    import pickle
    import zlib

    import numpy as np
    import tensorflow as tf
    from kaggle_environments.envs.football.helpers import *

    {literal}

    def build_model():
        ...  # the kernel's own SplitterConvNN definition

    model = build_model()
    model.set_weights(pickle.loads(zlib.decompress(WEIGHTS_STR)))

    @human_readable_agent
    def agent(obs):
        return Action.Idle
    '''


def _parts(data: bytes, count: int) -> list:
    size = -(-len(data) // count)
    return [data[i:i + size] for i in range(0, len(data), size)]


def _old_main_py(tmp_path, literal: str):
    path = tmp_path / "main.py"
    path.write_text(textwrap.dedent(OLD_MAIN_PY).replace("{literal}", literal))
    return path


@pytest.mark.engine
@pytest.mark.parametrize("style", ["bytes", "base64-str", "concatenated-lines", "plus-joined", "join-call"])
def test_an_old_main_py_is_rebuilt_from_its_embedded_weights(tmp_path, engine_observations, style):
    model = notebook_model(seed=11)
    blob = zlib.compress(pickle.dumps(model.get_weights()))
    literal = {
        "bytes": f"WEIGHTS_STR = {blob!r}",
        "base64-str": f"WEIGHTS_STR = base64_of = {base64.b64encode(blob).decode()!r}",
        "concatenated-lines": "WEIGHTS_STR = (\n" + "\n".join(
            f"        {blob[i:i + 4000]!r}" for i in range(0, len(blob), 4000)) + "\n    )",
        "plus-joined": "WEIGHTS_STR = (" + " +\n    ".join(f"{part!r}" for part in _parts(blob, 5)) + ")",
        "join-call": "WEIGHTS_STR = b''.join([\n" + ",\n".join(f"    {part!r}" for part in _parts(blob, 5)) + "])",
    }[style]
    old = _old_main_py(tmp_path, literal)
    result = build(old, tmp_path / "new" / "main.py", verify_steps=30, targets="current")
    assert result.source.format == "python" and result.model.arch == Architecture()
    got, want = main_py_q_values(result.output, engine_observations), model_q_values(model, engine_observations)
    assert np.max(np.abs(got - want)) <= 1e-4


class Payload:
    """A pickle that would run `touch marker` if loaded with plain pickle."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_an_old_main_py_with_a_malicious_pickle_is_refused_unexecuted(tmp_path):
    blob = zlib.compress(pickle.dumps([Payload(tmp_path / "pwned")] * 40))
    old = _old_main_py(tmp_path, f"WEIGHTS_STR = {blob!r}")
    out = CliRunner().invoke(app, ["build", str(old), "-o", str(tmp_path / "out.py")])
    assert out.exit_code == 2 and "refusing to load posix.system" in out.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "out.py").exists()


def test_a_python_file_without_weights_is_one_line(tmp_path):
    old = _old_main_py(tmp_path, "WEIGHTS_STR = b''")
    out = CliRunner().invoke(app, ["build", str(old), "-o", str(tmp_path / "out.py")])
    assert out.exit_code == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "a Python file with no embedded weights" in out.stderr
