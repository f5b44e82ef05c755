"""Step 3 of the pipeline: render one self-contained main.py from templates/ and agent_runtime/.

The runtime code inside main.py is the source of agent_runtime's modules, embedded verbatim, except for their
imports: those of other packages move to one import block at the top, and those of each other (in main.py they
share one namespace) become a comment saying which section above a name comes from. In that one namespace no
two sections (the template's own lines, each module, the user's --encoder file) may bind the same top-level name:
the renderer checks before it renders.
"""

import ast
import importlib
import importlib.resources
import inspect
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import jinja2
import numpy as np

from agent_runtime.codec import encode_weights
from builder.encoder import Encoder
from builder.load import NamedWeights, SourceWeights
from builder.observations import describe
from common import VERSION
from common.errors import EncoderError, InternalError

SHARED_RUNTIME_MODULES = ("smm", "simple115", "observation", "codec", "policy")
BACKENDS = {
    # backend: (runtime modules embedded after the shared ones, the loader main.py calls)
    "numpy": (("activations", "convolution", "tensor_ops", "recurrent", "layers", "graph", "incremental", "shell",
               "numpy_agent"), "load_numpy_policy"),
    "keras": (("keras_model", "keras_agent"), "load_keras_policy"),
}
WEIGHT_DTYPES = ("float32", "float16")


def runtime_modules(backend: str) -> tuple:
    return SHARED_RUNTIME_MODULES + BACKENDS[backend][0]


@dataclass
class RenderedAgent:
    source: str
    blob_chars: int


# Imported where their module imports them (after its setup lines, e.g. the TensorFlow log level), not hoisted.
ORDER_SENSITIVE_IMPORTS = ("tensorflow", "keras")
TEMPLATE_IMPORTS = ("import sys", "import traceback")  # what templates/main.py.j2 itself uses


@dataclass
class EmbeddedModule:
    name: str  # e.g. "numpy_model.py"
    source: str  # the module's code, its imports moved to main.py's one import block
    imports: list  # its top-level imports of other packages, as statements


# ----- one namespace: main.py's sections may not bind the same top-level name -----------------------------------
TEMPLATE = "main.py.j2"
ENCODER_INTERFACE = ("encode", "reset", "decide")  # the names an --encoder file defines for main.py to call


def bound_names(tree: ast.Module) -> dict:
    """{name: how it is bound} for every name a module binds at its top level: functions, classes, assignments,
    imports (also inside a top-level if / try / with / for). An import is bound to its statement, so the same import
    in two sections is one binding (main.py imports it once); anything else to None."""
    names = {}

    def bind(target) -> None:  # an assignment's target: a name, or a tuple / list of them (not x.a, not x[i])
        if isinstance(target, ast.Name):
            names[target.id] = None
        elif isinstance(target, ast.Starred):
            bind(target.value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for item in target.elts:
                bind(item)

    def visit(statements: list) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = None
                continue  # what its body binds is its own
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(dict.fromkeys(((alias.asname or alias.name).split(".")[0] for alias in node.names),
                                           ast.unparse(node)))
            for target in node.targets if isinstance(node, ast.Assign) else []:  # x = ...
                bind(target)
            bind(getattr(node, "target", None))  # x: int = ..., x += ..., for x in ...
            for item in getattr(node, "items", []):  # with ... as x
                bind(item.optional_vars)
            for block in ("body", "orelse", "finalbody"):  # if / try / with / for / while: what their blocks bind
                visit(getattr(node, block, []))
            for handler in getattr(node, "handlers", []):  # except ... as x
                names.update(dict.fromkeys([handler.name] if handler.name else [], None))
                visit(handler.body)

    visit(tree.body)
    return names


def template_names() -> dict:
    """The names main.py's own lines bind (GRAPH, POLICY, agent, ...): the template's Python, its Jinja blanked out
    (a `{{ value }}` read as None, `{% tags %}` dropped), with the imports it uses itself."""
    text = (importlib.resources.files("builder.templates") / TEMPLATE).read_text(encoding="utf-8")
    text = re.sub(r"\{\{.*?\}\}", "None", re.sub(r"\{%.*?%\}", "", text))
    return bound_names(ast.parse("\n".join(TEMPLATE_IMPORTS) + "\n" + text))


def module_names(module: EmbeddedModule) -> dict:
    """The top-level names an embedded module binds in main.py, its hoisted imports included."""
    names = bound_names(ast.parse(module.source))
    for statement in module.imports:
        names.update(bound_names(ast.parse(statement)))
    return names


def namespace_sections(modules: list) -> dict:
    """{section of main.py: the names it binds}: the template's own lines and each embedded module."""
    sections = {f"templates/{TEMPLATE}": template_names()}
    sections.update({f"agent_runtime/{module.name}": module_names(module) for module in modules})
    return sections


def clashes(names: dict, sections: dict) -> dict:
    """{name: the sections that bind it too} for each of `names` that another section binds differently (the very
    same import statement is no clash)."""
    found = {}
    for name, binding in names.items():
        others = [section for section, bound in sections.items()
                  if name in bound and (binding is None or bound[name] != binding)]
        if others:
            found[name] = others
    return found


def check_namespace(modules: list, encoder: "Encoder | None" = None) -> None:
    """main.py is one namespace: refuse, before rendering, any name that two of its sections bind. Between gfsub's
    own sections that is a gfsub bug; between the user's encoder and them, the encoder's name to change."""
    sections = namespace_sections(modules)
    seen = {f"the --encoder interface ({', '.join(ENCODER_INTERFACE)})": dict.fromkeys(ENCODER_INTERFACE)}
    for section, names in sections.items():
        found = clashes(names, seen)
        if found:
            where = sorted({other for others in found.values() for other in others})
            raise InternalError(None, f"main.py is one namespace, but {section} binds {', '.join(sorted(found))} "
                                f"again (already bound by {' and '.join(where)})")
        seen[section] = names
    if encoder is not None:
        found = clashes(bound_names(ast.parse(encoder.source)), sections)
        if found:
            where = sorted({other for others in found.values() for other in others})
            several = len(found) > 1
            raise EncoderError(encoder.path, f"defines {', '.join(sorted(found))}, {'names' if several else 'a name'}"
                               f" main.py's own code uses ({', '.join(where)})",
                               f"rename {'them' if several else 'it'} in your encoder")


def reserved_names(backend: str) -> set:
    """Every top-level name of main.py's own code: an --encoder file may not define one."""
    modules = [embedded_module(name) for name in runtime_modules(backend)]
    return {name for names in namespace_sections(modules).values() for name in names}


def embedded_module(name: str) -> EmbeddedModule:
    """agent_runtime/<name>.py for main.py: its imports of other packages go to the import block at the top; its
    imports of other agent_runtime modules (all in main.py already, above it) become a comment naming them."""
    source = inspect.getsource(importlib.import_module(f"agent_runtime.{name}"))
    lines = source.splitlines()
    replaced, imports = {}, []
    for node in ast.parse(source).body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        module = module or ""
        span = range(node.lineno - 1, node.end_lineno)
        if module.startswith("agent_runtime"):
            names = ", ".join(alias.name for alias in node.names)
            replaced.update(dict.fromkeys(span, None))
            replaced[span.start] = f"# {names}: from {module.split('.')[-1]}.py, above"
        elif module.split(".")[0] not in ORDER_SENSITIVE_IMPORTS:
            imports.append(ast.unparse(node))
            replaced.update(dict.fromkeys(span, None))
    kept = [replaced.get(i, line) for i, line in enumerate(lines)]
    text = "\n".join(line for line in kept if line is not None).strip()  # the template adds the line breaks
    while "\n\n\n\n" in text:  # no blank gaps where imports were
        text = text.replace("\n\n\n\n", "\n\n\n")
    return EmbeddedModule(f"{name}.py", text, imports)


def import_block(modules: list) -> str:
    """Every hoisted import once, standard library first, as at the top of any Python file."""
    import sys

    statements = set(TEMPLATE_IMPORTS)
    for module in modules:
        statements.update(module.imports)

    def package(statement: str) -> str:
        return statement.split()[1].split(".")[0]

    def order(statement: str) -> tuple:  # isort's: `import x` lines first, then `from x import y`, by module
        return statement.startswith("from "), statement.split()[1]

    stdlib = sorted((s for s in statements if package(s) in sys.stdlib_module_names), key=order)
    others = sorted((s for s in statements if package(s) not in sys.stdlib_module_names), key=order)
    return "\n".join(stdlib) + ("\n\n" + "\n".join(others) if others else "")


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(importlib.resources.files("builder.templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


@dataclass
class BuildFlags:
    """What the rebuild command in main.py's header repeats."""

    arch: bool = False
    observation: str = ""
    encoder: str = ""
    output: str = ""
    state: str = ""


def render_main_py(
    source: SourceWeights,
    graph: dict,
    named_weights: NamedWeights,
    observation: list,
    *,
    description: str,
    encoder: "Encoder | None" = None,
    fallback_action: int = 0,
    flags: "BuildFlags | None" = None,
    backend: str = "numpy",
    weights_dtype: str = "float32",
) -> RenderedAgent:
    """main.py text for this checked graph, its weights and its observation pipeline."""
    manifest, blob = encode_weights(named_weights, dtype=weights_dtype)
    modules = [embedded_module(name) for name in runtime_modules(backend)]
    check_namespace(modules, encoder)
    text = template_environment().get_template("main.py.j2").render(
        version=VERSION,
        source_name=source.path.name,
        source_format=source.format,
        source_sha256=source.sha256,
        arch_line=description,
        n_params=f"{sum(int(np.size(array)) for _, array in named_weights):,}",
        observation_line=describe_observation(observation, encoder),
        backend=backend,
        backend_line=_backend_line(backend),
        loader=BACKENDS[backend][1],
        flags=_flags(flags or BuildFlags(), backend, weights_dtype),
        weights_dtype=weights_dtype,
        fallback_action=int(fallback_action),
        built_at=_build_time(),
        modules=modules,
        imports=import_block(modules),
        graph=block_literal(graph, "nodes"),
        observation=list_literal(observation),
        encoder=encoder,
        manifest_literal=block_literal(manifest, "arrays"),
        blob=blob,
        blob_chars=f"{len(blob):,}",
    )
    return RenderedAgent(source=text, blob_chars=len(blob))


def describe_observation(observation: list, encoder: "Encoder | None") -> str:
    if encoder is not None:
        return f"your encoder {encoder.path.name}"
    return ",".join(describe(spec) for spec in observation)


def list_literal(items: list) -> str:
    """A list as a Python literal, one item per line."""
    return "[\n" + "".join(f"    {_literal(item)},\n" for item in items) + "]"


def block_literal(data: dict, list_key: str) -> str:
    """A dict as a Python literal that reads at a glance: one key per line, and the list under `list_key` one item
    per line (main.py's GRAPH and WEIGHTS_MANIFEST are written alike)."""
    lines = ["{"]
    for key, value in data.items():
        if key == list_key:
            lines.append(f"    {_literal(key)}: [")
            lines += [f"        {_literal(item)}," for item in value]
            lines.append("    ],")
        else:
            lines.append(f"    {_literal(key)}: {_literal(value)},")
    return "\n".join(lines + ["}"])


def _literal(value) -> str:
    """A Python literal with double-quoted strings (as in JSON and the rest of main.py)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


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
        return f"numpy (built with numpy {numpy.__version__}; main.py never imports TensorFlow)"
    import keras
    import tensorflow as tf

    return f"keras (built with TensorFlow {tf.__version__}, Keras {keras.__version__})"


def _flags(flags: BuildFlags, backend: str, weights_dtype: str) -> str:
    parts = [" --arch ..."] if flags.arch else []
    if flags.observation:
        parts.append(f" --observation {flags.observation}")
    if flags.encoder:
        parts.append(f" --encoder {flags.encoder}")
    if flags.output:
        parts.append(f" --output {flags.output}")
    if flags.state:
        parts.append(f" --state {flags.state}")
    parts.append(f" --backend {backend}")
    if weights_dtype != "float32":
        parts.append(f" --weights-dtype {weights_dtype}")
    return "".join(parts)
