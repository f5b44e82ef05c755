"""main.py is one namespace: gfsub's runtime modules and the user's encoder share it, so no two may bind the same
top-level name. Every activation and every layer gfsub reproduces is built into a real main.py and played the way
Kaggle loads it; a name bound twice is refused at build time (a gfsub bug, or the encoder's name to change)."""

import ast
import dataclasses
from collections import defaultdict

import keras
import numpy as np
import pytest
from typer.testing import CliRunner

from agent_runtime.activations import ACTIVATIONS as ACTIVATION_FUNCTIONS
from agent_runtime.activations import activate
from agent_runtime.layers import OPS
from agent_runtime.tensor_ops import TENSOR_OPS
from builder import build
from builder.keras.layers import ACTIVATIONS
from builder.render import (
    BACKENDS,
    ENCODER_INTERFACE,
    bound_names,
    check_namespace,
    embedded_module,
    namespace_sections,
    runtime_modules,
    template_names,
)
from common.errors import InternalError
from common.kaggle import load_like_kaggle
from gfsub.cli import app
from tests.user_model import SplitLayer

L = keras.layers
VERIFY = {"verify_steps": 10, "targets": "current"}  # one short verify match, in this interpreter's runtime only


# ----- the models: every activation, every layer --------------------------------------------------------------
def every_activation_model() -> keras.Model:
    """simple115 -> one small Dense layer per activation Keras' front door reads -> 19 Q-values."""
    keras.utils.set_random_seed(0)
    x = keras.Input((115,))
    branches = [L.Dense(4, activation=name, name=f"dense_{name}")(x) for name in ACTIVATIONS]
    return keras.Model(x, L.Dense(19)(L.Concatenate()(branches)), name="every_activation")


def every_layer_model() -> keras.Model:
    """The SMM -> every layer type and keras.ops call gfsub reproduces, each at least once -> a dueling head."""
    keras.utils.set_random_seed(0)
    frames = keras.Input((72, 96, 4))
    x = L.Concatenate()(SplitLayer(split_dim=3)(frames))  # the notebook's channel split, joined again
    x = L.Cropping2D(((1, 0), (2, 1)))(L.ZeroPadding2D(((1, 2), (0, 1)))(L.Rescaling(2.0, offset=-0.5)(x)))
    x = L.BatchNormalization()(L.Conv2D(6, 8, strides=4, padding="same", activation="relu")(x))
    x = L.Dropout(0.2)(L.AveragePooling2D(2, strides=1, padding="same")(L.MaxPooling2D(2, padding="same")(x)))
    activated = [L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2)(x), L.LeakyReLU(0.25)(x), L.ELU(0.7)(x),
                 L.PReLU(shared_axes=[1, 2])(x), L.Softmax(axis=-1)(x), L.Activation("selu")(x)]
    pooled = ([L.GlobalAveragePooling2D()(a) for a in activated[:3]]
              + [L.GlobalMaxPooling2D()(a) for a in activated[3:]])
    merged = [L.Add()(pooled[0:2]), L.Subtract()(pooled[1:3]), L.Multiply()(pooled[2:4]),
              L.Average()(pooled[3:5]), L.Maximum()(pooled[4:6]), L.Minimum()([pooled[5], pooled[0]])]
    normalization = L.Normalization()
    normalization.adapt(np.random.default_rng(0).normal(0.5, 2.0, size=(64, 36)).astype(np.float32))
    y = normalization(L.LayerNormalization()(L.Concatenate()(merged)))
    sequence = L.Reshape((6, 6))(y)
    y = L.Flatten()(L.Permute((2, 1))(sequence))
    y = (-y / 2.0)[:, 2:30]  # keras.ops' classes Negative, TrueDivide, GetItem
    y = y - keras.ops.mean(y, axis=1, keepdims=True)
    y = keras.ops.squeeze(keras.ops.expand_dims(y, -1), axis=-1)
    memory = L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="sum")(sequence)  # the recurrent layers
    memory, state, _ = L.LSTM(4, return_state=True)(memory)
    memory = L.SimpleRNN(2)(L.Reshape((2, 2))(memory), initial_state=[L.Dense(2)(state)])
    hidden = L.Dense(16, activation="tanh")(L.Concatenate()([y, memory]))
    value, advantage = L.Dense(1)(hidden), L.Dense(19)(hidden)
    q = L.Lambda(lambda t: t[0] + t[1] - keras.ops.mean(t[1], axis=1, keepdims=True), output_shape=(19,),
                 name="dueling")([value, advantage])
    return keras.Model(frames, q, name="every_layer")


MODELS = {"every_activation": every_activation_model, "every_layer": every_layer_model}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("namespace")
    files = {}
    for name, make in MODELS.items():
        files[name] = folder / f"{name}.keras"
        make().save(files[name])
    return files


# build: (model, backend); --backend keras rebuilds every layer but Normalization, so it builds every activation
BUILDS = {"every_activation": ("every_activation", "numpy"), "every_layer": ("every_layer", "numpy"),
          "every_activation-keras": ("every_activation", "keras")}


@pytest.fixture(scope="module")
def built(model_files, tmp_path_factory) -> dict:
    """Each build's real main.py, verified against its model on the engine."""
    folder = tmp_path_factory.mktemp("built")
    return {name: build(model_files[model], folder / name / "main.py", backend=backend, **VERIFY)
            for name, (model, backend) in BUILDS.items()}


# ----- every activation and every layer in a real main.py -----------------------------------------------------
# Ops no Keras 3 model reads as, played from main.py's namespace directly (op: an example node): `identity` has no
# Keras layer (Dropout and the noise layers are left out of the graph).
NOT_FROM_KERAS3 = {"identity": {}}


@pytest.mark.engine
def test_every_activation_and_every_layer_is_in_a_built_main_py(built):
    ops = {node["op"] for result in built.values() for node in result.model.graph.nodes} - {"input"}
    keras_ops = set(OPS) - set(NOT_FROM_KERAS3) - set(TENSOR_OPS)  # tensor_ops: ONNX's (tests/test_onnx_ops.py)
    assert ops == keras_ops, f"no model here has {sorted(keras_ops - ops)}"
    for name in ("every_activation", "every_activation-keras"):
        dense = [node for node in built[name].model.graph.nodes if node["op"] == "dense"]
        assert {node["activation"] for node in dense} >= set(ACTIVATIONS) - {"swish"}  # swish is read as silu
    assert all(result.parity.passed for result in built.values())


@pytest.mark.parametrize("name", list(BUILDS))
def test_main_py_loads_like_on_kaggle_and_plays_its_model(name, built, engine_observations, capfd):
    """exec of the source in a fresh `{}`, the last callable is the agent: the model loads (no fallback) and the
    agent acts on real observations."""
    source = built[name].output.read_text()
    namespace: dict = {}
    exec(compile(source, "<kaggle>", "exec"), namespace)
    assert namespace["POLICY"] is not None, capfd.readouterr().err
    assert [key for key, value in namespace.items() if callable(value)][-1] == "agent"
    agent = load_like_kaggle(built[name].output)
    actions = [agent(observation) for observation in engine_observations[:20]]
    assert all(len(action) == 1 and 0 <= action[0] <= 18 for action in actions)
    assert "Traceback" not in capfd.readouterr().err, "the model failed inside main.py: the fallback played"


@pytest.mark.engine
def test_every_activation_and_op_computes_the_same_inside_main_py(built):
    """main.py's own `activate` (its names resolved in main.py's one namespace) against agent_runtime's module,
    for every activation (Keras 2's hard_sigmoid and the tanh gelu included), and the ops no Keras 3 model has."""
    namespace: dict = {}
    exec(built["every_activation"].output.read_text(), namespace)
    x = np.linspace(-8.0, 8.0, 97, dtype=np.float32).reshape(1, -1)
    assert set(namespace["ACTIVATIONS"]) == set(ACTIVATION_FUNCTIONS)
    for name in ACTIVATION_FUNCTIONS:
        np.testing.assert_array_equal(namespace["activate"](x, name), activate(x, name), err_msg=name)
    for op, function in OPS.items():  # each layer's function is the one main.py's namespace holds by its name
        assert namespace[function.__name__] is namespace["OPS"][op], op
    for op, node in NOT_FROM_KERAS3.items():
        np.testing.assert_array_equal(namespace["OPS"][op](node, [x], []), OPS[op](node, [x], []), err_msg=op)


@pytest.mark.engine
def test_main_py_binds_only_the_names_its_sections_declare(built):
    """The renderer's check sees every top-level name of a real main.py (so none can slip past it)."""
    for result in built.values():
        modules = [embedded_module(name) for name in runtime_modules(result.backend)]
        declared = {name for names in namespace_sections(modules).values() for name in names}
        assert set(bound_names(ast.parse(result.output.read_text()))) == declared, result.backend


# ----- an encoder may not bind a name of main.py's own code ---------------------------------------------------
CLASHING_ENCODERS = {
    # caught when the encoder is read
    "a function": ("def elu(x):\n    return x\n\n\ndef encode(obs):\n    return [0.0]\n", "elu"),
    # caught by the renderer's check of main.py's namespace
    "a tuple assignment": ("HALF, TWICE = 0.5, 2.0\n\n\ndef encode(obs):\n    return [HALF]\n", "HALF"),
    "an annotated assignment": ("OPS: dict = {}\n\n\ndef encode(obs):\n    return [0.0]\n", "OPS"),
}


@pytest.mark.parametrize("case", list(CLASHING_ENCODERS))
def test_an_encoder_name_that_main_py_uses_is_one_line_and_exit_2(case, model_files, tmp_path):
    text, name = CLASHING_ENCODERS[case]
    (tmp_path / "features.py").write_text(text)
    out = CliRunner().invoke(app, ["build", str(model_files["every_activation"]), "-o",
                                   str(tmp_path / "new" / "main.py"), "--encoder", str(tmp_path / "features.py"),
                                   "--verify-steps", "5", "--target", "current"])
    lines = out.stderr.strip().splitlines()
    assert out.exit_code == 2 and len(lines) == 1, out.stderr
    assert "features.py" in lines[0] and f"defines {name}," in lines[0], lines[0]
    assert "rename it in your encoder" in lines[0]
    assert not (tmp_path / "new").exists()


# ----- the names of gfsub's own sections ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_the_embedded_modules_bind_no_name_twice(backend):
    """Across the template and every agent_runtime module it embeds, each top-level name is bound once (an import
    of the very same statement, which main.py hoists once, aside), and none is the encoder's encode or reset."""
    sections = namespace_sections([embedded_module(name) for name in runtime_modules(backend)])
    bindings = defaultdict(list)  # name -> how each section binds it: its import statement, else None
    for names in sections.values():
        for name, how in names.items():
            bindings[name].append(how)
    twice = [name for name, hows in bindings.items() if len(hows) > 1 and (None in hows or len(set(hows)) > 1)]
    assert twice == []
    assert not set(bindings) & set(ENCODER_INTERFACE)
    check_namespace([embedded_module(name) for name in runtime_modules(backend)])


def test_the_template_names_are_found():
    assert {"GRAPH", "OBSERVATION", "FALLBACK_ACTION", "ENCODER", "WEIGHTS_MANIFEST", "WEIGHTS_BLOB", "POLICY",
            "agent", "sys", "traceback"} == set(template_names())


def test_a_name_two_modules_bind_is_a_gfsub_bug():
    """As before the fix: layers.py's ELU layer was `elu`, and activations.py's selu called layers' one."""
    modules = [embedded_module(name) for name in runtime_modules("numpy")]
    layers = next(i for i, module in enumerate(modules) if module.name == "layers.py")
    modules[layers] = dataclasses.replace(modules[layers], source=modules[layers].source + "\n\n\ndef elu(node, "
                                          "inputs, weights):\n    return inputs[0]\n")
    with pytest.raises(InternalError) as refused:
        check_namespace(modules)
    message = refused.value.message
    assert "agent_runtime/layers.py binds elu again (already bound by agent_runtime/activations.py)" in message
    assert "gfsub bug" in message and refused.value.exit_code == 3
