"""Step 2 of the pipeline: the model's layer graph and its weights, checked before anything is written.

`resolve_model` is the public entry point: the graph comes from the model file's own config, else from --arch (the
model's own Keras JSON, `model.to_json()`, or a gfsub SplitterConvNN architecture), else from the weight shapes (the
notebook's known variants); the weights are bound to it by name (or in Keras' get_weights() order) and checked:
their shapes against the layers, no NaN/inf. Each helper raises a GfsubError that names the file, the layer, the
expected and the found value, and what to do.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from builder.describe import describe
from builder.keras.files import graph_or_raise, keras3_layer_keys
from builder.keras.shapes import describe_variant, infer_architectures
from builder.keras.splitter import Architecture, as_splitter, splitter_graph
from builder.keras.weight_order import VARIABLES, candidate_orders, fits, shapes_of
from builder.limits import loads
from builder.load import NamedWeights, SourceWeights
from builder.model_graph import CONSTANT_ROLE, Graph, bind_layer_weights, bind_ordered_weights
from common.errors import (
    ActionCountError,
    AmbiguousArchitectureError,
    ArchitectureFileError,
    NonFiniteWeightsError,
    WeightShapeError,
)
from common.kaggle import N_ACTIONS


@dataclass
class ResolvedModel:
    """The model as the rest of the pipeline takes it."""

    graph: Graph
    named: NamedWeights  # ("layer/role", float32 array) for every weight the graph names
    origin: str  # where the graph came from, for the summary
    arch: "Architecture | None" = None  # the SplitterConvNN's architecture, when the graph is one built by gfsub
    model_json: "dict | None" = None  # an --arch Keras JSON: the reference rebuilds the model from it


def read_arch_file(path: "str | Path"):
    """An --arch file: the model's own Keras JSON (-> dict) or a gfsub architecture (-> Architecture)."""
    path = Path(path)
    if not path.is_file():
        raise ArchitectureFileError(path, "no such architecture file", "check the --arch path")
    fix = "pass the model's own model.to_json(), or the JSON `gfsub arch` prints"
    try:
        data = loads(path, path.read_text(), "the architecture file", ArchitectureFileError, fix)
        if isinstance(data, dict) and "class_name" in data and "config" in data:
            return data
        return Architecture.from_dict(data)
    except (json.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ArchitectureFileError(path, f"not a usable architecture file ({exc})", fix) from exc


def resolve_model(source: SourceWeights, arch_file: "str | Path | None") -> ResolvedModel:
    """The graph and its checked weights: the file's own, else --arch, else the one known variant the weight shapes
    fit, else the notebook's default (whose shape check then explains the mismatch)."""
    requested = read_arch_file(arch_file) if arch_file else None
    if source.named is not None:  # the front door bound the weights itself (ONNX)
        if requested is not None:
            raise ArchitectureFileError(arch_file, f"{source.path.name} records its own graph",
                                        "drop --arch: the model file records its own graph")
        return _checked(source, ResolvedModel(source.graph, source.named, "the file's own graph"))
    if source.graph is not None:
        if requested is not None:
            raise ArchitectureFileError(arch_file, f"{source.path.name} records its own architecture",
                                        "drop --arch: the model file records its own architecture")
        named = bind_layer_weights(source.graph, source.layers or {}, source.path)
        return _checked(source, ResolvedModel(source.graph, named, "the file's own config",
                                              arch=as_splitter(source.graph)))
    if isinstance(requested, dict):
        return _checked(source, _from_keras_json(source, requested, Path(arch_file)))
    if requested is not None:
        arch, origin = requested, f"--arch {Path(arch_file).name}"
    else:
        arch, origin = _architecture_from_shapes(source)
    named = validate_weights(source, arch)
    return _checked(source, ResolvedModel(splitter_graph(arch), named, origin, arch=arch))


def _from_keras_json(source: SourceWeights, model_json: dict, path: Path) -> ResolvedModel:
    """A weights-only file bound to the model's own JSON: by layer name (Keras 2 save_weights), by the group names
    Keras 3 gives each layer, or in get_weights() order."""
    graph = graph_or_raise(path, model_json, str(model_json.get("keras_version", "")))
    if source.groups is not None:
        keys = keras3_layer_keys(model_json.get("config", model_json)["layers"])
        named = bind_layer_weights(graph, {layer: source.groups.get(key, []) for layer, key in keys.items()},
                                   source.path)
    elif source.layers is not None and set(graph.weighted()) <= set(source.layers):
        named = bind_layer_weights(graph, source.layers, source.path)
    else:
        named = bind_ordered_weights(graph, source.ordered or [], source.path)
    return ResolvedModel(graph, named, f"--arch {path.name} (the model's own JSON)", model_json=model_json)


def _checked(source: SourceWeights, model: ResolvedModel) -> ResolvedModel:
    _validate_finite(source.path, model.named)
    return model


def _architecture_from_shapes(source: SourceWeights) -> tuple:
    arrays = source.ordered or [array for arrays in (source.layers or {}).values() for array in arrays]
    fitting = infer_architectures(arrays)
    if len(fitting) == 1:
        return fitting[0], f"the weight shapes (the one known variant that fits: {describe_variant(fitting[0])})"
    if len(fitting) > 1:
        raise AmbiguousArchitectureError(
            source.path, f"the weight shapes fit {len(fitting)} known variants "
            f"({'; '.join(describe_variant(a) for a in fitting)})",
            f"write them as --arch files with `gfsub arch --from {source.path}` and pass the one you trained, or "
            "pass the model's own model.to_json() as --arch")
    return Architecture(), "the notebook's default (no known variant fits the weight shapes)"


def validate_weights(source: SourceWeights, arch: Architecture) -> NamedWeights:
    """-> [("layer/kernel" | "layer/bias", float32 array)] in canonical order, or raise."""
    _validate_action_count(source.path, arch)
    canonical = {name for name, _ in arch.layer_shapes()}
    if source.layers is not None and canonical <= set(source.layers):
        named = _from_named_layers(source, arch)
    else:
        named = _from_ordered_arrays(source, arch)
    return [(name, np.asarray(array, dtype=np.float32)) for name, array in named]


def _validate_action_count(path: Path, arch: Architecture) -> None:
    if arch.n_actions != N_ACTIONS:
        raise ActionCountError(
            path, f"the Q head has {arch.n_actions} actions; Kaggle football takes {N_ACTIONS} "
            "(gfootball's 'default' action set)", "train and export the model with n_actions=19")


def _validate_finite(path: Path, named: NamedWeights) -> None:
    """No NaN anywhere, and no infinity in a weight; a constant may hold one (-inf fills a masked logit)."""
    for name, array in named:
        values = np.asarray(array, dtype=np.float64)
        bad = np.isnan(values) if name.endswith(CONSTANT_ROLE) else ~np.isfinite(values)
        if bad.any():
            kinds = sorted({"NaN" if np.isnan(v) else "inf" for v in values[bad][:50]})
            raise NonFiniteWeightsError(
                path, f"layer {name} has {int(bad.sum())} {'/'.join(kinds)} values",
                "the training run diverged: export weights from an earlier checkpoint")


def validate_action_count(path: Path, units: int, output: str) -> None:
    """The output the policy acts on must have one value per Kaggle football action."""
    if units != N_ACTIONS:
        raise ActionCountError(path, f"the output '{output}' has {units} values; Kaggle football takes "
                               f"{N_ACTIONS} actions (gfootball's 'default' action set)",
                               "train and export the model with 19 actions")


def _validate_shape(path: Path, name: str, expected: tuple, found: tuple) -> None:
    if tuple(expected) != tuple(found):
        raise WeightShapeError(path, f"layer {name}: expected shape {tuple(expected)}, found {tuple(found)}",
                               "pass --arch with the architecture the model was trained with")


def _from_named_layers(source: SourceWeights, arch: Architecture) -> list:
    named = []
    for layer, shapes in arch.layer_shapes():
        arrays = source.layers.get(layer, [])
        if len(arrays) != len(shapes):
            raise WeightShapeError(source.path, f"layer {layer}: expected {len(shapes)} arrays (kernel, bias), "
                                   f"found {len(arrays)}", "export the model with biases, as the notebook builds it")
        for variable, expected, array in zip(VARIABLES, shapes, arrays, strict=True):
            _validate_shape(source.path, f"{layer}/{variable}", expected, array.shape)
            named.append((f"{layer}/{variable}", array))
    return named


def _from_ordered_arrays(source: SourceWeights, arch: Architecture) -> list:
    arrays = source.ordered or []
    for order in candidate_orders(arch):
        if fits(order, shapes_of(arrays)):
            named = dict(zip((name for name, _ in order), arrays, strict=True))
            return [(name, named[name]) for name, _ in candidate_orders(arch)[0]]
    _raise_for_order(source, arch, arrays)
    raise AssertionError("unreachable")


def _raise_for_order(source: SourceWeights, arch: Architecture, arrays: list) -> None:
    """Explain the mismatch against the canonical order, singling out a wrong action count."""
    if arrays and arrays[-1].ndim == 1 and arrays[-1].shape[0] != arch.n_actions and not arch.dueling:
        other = replace(arch, n_actions=int(arrays[-1].shape[0]))
        if any(fits(order, shapes_of(arrays)) for order in candidate_orders(other)):
            _validate_action_count(source.path, other)
    canonical = candidate_orders(arch)[0]
    for (name, expected), array in zip(canonical, arrays, strict=False):  # lengths may differ
        _validate_shape(source.path, name, expected, array.shape)
    raise WeightShapeError(
        source.path, f"found {len(arrays)} weight arrays; the architecture {describe(arch)} needs {len(canonical)}",
        "pass --arch with the architecture the model was trained with")
