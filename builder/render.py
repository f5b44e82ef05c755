"""Step 3 of the pipeline: render one self-contained main.py from templates/ and agent_runtime/.

The runtime code inside main.py is the source of agent_runtime's modules, embedded verbatim
(minus their imports of each other, since in main.py they share one namespace).
"""

import ast
import importlib
import importlib.resources
import inspect
import json
import os
import pprint
from dataclasses import dataclass
from datetime import datetime, timezone

import jinja2

from agent_runtime.architecture import Architecture
from agent_runtime.codec import encode_weights
from builder.load import SourceWeights

SHARED_RUNTIME_MODULES = ("architecture", "smm", "observation", "codec", "policy")
BACKENDS = {
    # backend: (runtime modules embedded after the shared ones, the loader main.py calls)
    "numpy": (("numpy_model", "incremental", "numpy_agent"), "load_numpy_policy"),
    "keras": (("keras_model", "keras_agent"), "load_keras_policy"),
}
WEIGHT_DTYPES = ("float32", "float16")


def runtime_modules(backend: str) -> tuple:
    return SHARED_RUNTIME_MODULES + BACKENDS[backend][0]


@dataclass
class RenderedAgent:
    source: str
    blob_chars: int


def runtime_module_source(name: str) -> str:
    """agent_runtime/<name>.py without its `from agent_runtime... import ...` statements."""
    source = inspect.getsource(importlib.import_module(f"agent_runtime.{name}"))
    lines = source.splitlines()
    drop = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("agent_runtime"):
            drop.update(range(node.lineno - 1, node.end_lineno))
    return "\n".join(line for i, line in enumerate(lines) if i not in drop).strip() + "\n"


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(importlib.resources.files("builder.templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_main_py(
    source: SourceWeights,
    arch: Architecture,
    named_weights: list,
    fallback_action: int = 0,
    arch_flag: bool = False,
    backend: str = "numpy",
    weights_dtype: str = "float32",
) -> RenderedAgent:
    """main.py text for these checked weights."""
    from builder import __version__

    manifest, blob = encode_weights(named_weights, dtype=weights_dtype)
    modules = [{"name": f"{name}.py", "source": runtime_module_source(name)} for name in runtime_modules(backend)]
    text = template_environment().get_template("main.py.j2").render(
        version=__version__,
        source_name=source.path.name,
        source_format=source.format,
        source_sha256=source.sha256,
        arch_line=arch.describe(),
        n_params=f"{arch.n_params():,}",
        backend=backend,
        backend_line=_backend_line(backend),
        loader=BACKENDS[backend][1],
        flags=_flags(arch_flag, backend, weights_dtype),
        weights_dtype=weights_dtype,
        fallback_action=int(fallback_action),
        built_at=_build_time(),
        modules=modules,
        architecture_json=json.dumps(arch.to_dict(), sort_keys=True),
        manifest_literal=pprint.pformat(manifest, width=110, sort_dicts=False),
        blob=blob,
        blob_chars=f"{len(blob):,}",
    )
    return RenderedAgent(source=text, blob_chars=len(blob))


def _build_time() -> str:
    """Only from SOURCE_DATE_EPOCH (reproducible builds): the same inputs give a byte-identical main.py, so a
    check of one build applies to the next."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return ""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _backend_line(backend: str) -> str:
    import numpy

    if backend == "numpy":
        return f"numpy (numpy {numpy.__version__} here; TensorFlow is not imported)"
    import keras
    import tensorflow as tf

    return f"keras (TensorFlow {tf.__version__}, Keras {keras.__version__})"


def _flags(arch_flag: bool, backend: str, weights_dtype: str) -> str:
    flags = [" --arch ..."] if arch_flag else []
    flags.append(f" --backend {backend}")
    if weights_dtype != "float32":
        flags.append(f" --weights-dtype {weights_dtype}")
    return "".join(flags)
