"""Step 3 of the pipeline: render one self-contained main.py from templates/ and agent_runtime/.

The runtime code inside main.py is the source of agent_runtime's modules, embedded verbatim
(minus their imports of each other, since in main.py they share one namespace).
"""

import ast
import importlib
import importlib.resources
import inspect
import json
import pprint
from dataclasses import dataclass
from datetime import datetime, timezone

import jinja2

from agent_runtime.architecture import Architecture
from agent_runtime.codec import encode_weights
from builder.load import SourceWeights

KERAS_RUNTIME_MODULES = ("architecture", "observation", "codec", "policy", "keras_model", "keras_agent")


@dataclass
class RenderedAgent:
    source: str
    manifest: dict
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
) -> RenderedAgent:
    """main.py text for these checked weights."""
    import keras
    import tensorflow as tf

    from builder import __version__

    manifest, blob = encode_weights(named_weights, dtype="float32")
    modules = [{"name": f"{name}.py", "source": runtime_module_source(name)} for name in KERAS_RUNTIME_MODULES]
    text = template_environment().get_template("main.py.j2").render(
        version=__version__,
        source_name=source.path.name,
        source_format=source.format,
        source_sha256=source.sha256,
        arch_line=arch.describe(),
        arch_flag=arch_flag,
        n_params=f"{arch.n_params():,}",
        tf_version=tf.__version__,
        keras_version=keras.__version__,
        weights_dtype="float32",
        fallback_action=int(fallback_action),
        built_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        modules=modules,
        architecture_json=json.dumps(arch.to_dict(), sort_keys=True),
        manifest_literal=pprint.pformat(manifest, width=110, sort_dicts=False),
        blob=blob,
        blob_chars=f"{len(blob):,}",
    )
    return RenderedAgent(source=text, manifest=manifest, blob_chars=len(blob))
