"""Step 2 of the pipeline: check loaded weights against the architecture before anything is written.

`validate_weights` is the public entry point; each helper checks one thing and raises a GfsubError
that names the file, the layer, the expected and the found value, and what to do.
"""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from agent_runtime.architecture import KAGGLE_N_ACTIONS, Architecture
from builder.describe import describe
from builder.load import NamedWeights, SourceWeights
from builder.shapes import describe_variant, infer_architectures
from builder.weight_order import VARIABLES, candidate_orders, fits, shapes_of
from common.errors import (
    ActionCountError,
    AmbiguousArchitectureError,
    ArchitectureFileError,
    NonFiniteWeightsError,
    WeightShapeError,
)


def read_architecture_file(path: "str | Path") -> Architecture:
    """Parse an --arch JSON file (keys as in Architecture.to_dict())."""
    path = Path(path)
    if not path.is_file():
        raise ArchitectureFileError(path, "no such architecture file", "check the --arch path")
    try:
        return Architecture.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ArchitectureFileError(path, f"not a usable architecture file ({exc})",
                                    "see `gfsub arch` for the expected JSON") from exc


def resolve_architecture(source: SourceWeights, arch_file: "str | Path | None") -> tuple:
    """-> (architecture, where it came from): the file's own, else --arch, else the one known variant the weight
    shapes fit, else the notebook's default (whose shape check then explains the mismatch)."""
    requested = read_architecture_file(arch_file) if arch_file else None
    if source.arch is not None:
        if requested is not None and requested != source.arch:
            raise ArchitectureFileError(
                arch_file, f"describes {describe(requested)} but {source.path.name} holds "
                f"{describe(source.arch)}", "drop --arch: the model file records its own architecture")
        return source.arch, "the file's own config"
    if requested is not None:
        return requested, f"--arch {Path(arch_file).name}"
    arrays = source.ordered or [array for arrays in (source.named or {}).values() for array in arrays]
    fitting = infer_architectures(arrays)
    if len(fitting) == 1:
        return fitting[0], f"the weight shapes (the one known variant that fits: {describe_variant(fitting[0])})"
    if len(fitting) > 1:
        raise AmbiguousArchitectureError(
            source.path, f"the weight shapes fit {len(fitting)} known variants "
            f"({'; '.join(describe_variant(a) for a in fitting)})",
            f"write them as --arch files with `gfsub arch --from {source.path}` and pass the one you trained")
    return Architecture(), "the notebook's default (no known variant fits the weight shapes)"


def validate_weights(source: SourceWeights, arch: Architecture) -> NamedWeights:
    """-> [("layer/kernel" | "layer/bias", float32 array)] in canonical order, or raise."""
    _validate_action_count(source.path, arch)
    if source.named is not None:
        named = _from_named_layers(source, arch)
    else:
        named = _from_ordered_arrays(source, arch)
    _validate_finite(source.path, named)
    return [(name, np.asarray(array, dtype=np.float32)) for name, array in named]


def _validate_action_count(path: Path, arch: Architecture) -> None:
    if arch.n_actions != KAGGLE_N_ACTIONS:
        raise ActionCountError(
            path, f"the Q head has {arch.n_actions} actions; Kaggle football takes {KAGGLE_N_ACTIONS} "
            "(gfootball's 'default' action set)", "train and export the model with n_actions=19")


def _validate_finite(path: Path, named: NamedWeights) -> None:
    for name, array in named:
        bad = ~np.isfinite(np.asarray(array, dtype=np.float64))
        if bad.any():
            kinds = sorted({"NaN" if np.isnan(v) else "inf" for v in np.asarray(array, dtype=np.float64)[bad][:50]})
            raise NonFiniteWeightsError(
                path, f"layer {name} has {int(bad.sum())} {'/'.join(kinds)} values",
                "the training run diverged: export weights from an earlier checkpoint")


def _validate_shape(path: Path, name: str, expected: tuple, found: tuple) -> None:
    if tuple(expected) != tuple(found):
        raise WeightShapeError(path, f"layer {name}: expected shape {tuple(expected)}, found {tuple(found)}",
                               "pass --arch with the architecture the model was trained with")


def _from_named_layers(source: SourceWeights, arch: Architecture) -> list:
    named = []
    for layer, shapes in arch.layer_shapes():
        arrays = source.named.get(layer, [])
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
