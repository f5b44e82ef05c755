"""Mutations of a JSON document (a Keras config, metadata, an --arch file, an episode, a .pt2's model.json).

Each parses the document, changes one place and writes it again: a key deleted or renamed, a value of the wrong
type, a shape inflated by 10^6, nesting 10^5 deep, list entries swapped or duplicated.
"""

import json
import random

from tests.fuzz.mutate_bytes import DEEP, Skip

SHAPE_KEYS = ("units", "filters", "kernel_size", "strides", "pool_size", "batch_shape", "batch_input_shape", "shape",
              "target_shape", "dims", "size", "axis", "n", "dense_units", "conv_filters", "steps", "input_dim",
              "output_dim", "sizes", "shape_env", "stride", "dilation_rate", "cropping", "padding", "rate")
WRONG_VALUES = (None, "", "x" * 12, -1, 0, 10 ** 30, 1e308, True, [], {}, [1, 2], {"a": 1}, -(2 ** 63), "NaN")
DEEP_MARK = "__gfsub_fuzz_deep__"


def parse(data: bytes):
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise Skip from None


def dump(document) -> bytes:
    return json.dumps(document).replace(f'"{DEEP_MARK}"', "[" * DEEP + "]" * DEEP).encode()


def containers(document) -> list:
    """Every dict and list in the document, with its path, without recursion."""
    found, stack = [], [(document, "$")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            found.append((node, where))
            stack += [(value, f"{where}.{key}") for key, value in node.items()]
        elif isinstance(node, list):
            found.append((node, where))
            stack += [(value, f"{where}[{i}]") for i, value in enumerate(node)]
    return found


def _pick(rng: random.Random, document, kind=(dict, list)) -> tuple:
    found = [(node, where) for node, where in containers(document) if isinstance(node, kind) and node]
    if not found:
        raise Skip
    return rng.choice(found)


def _key(rng: random.Random, node):
    return rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))


def delete_key(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    node, where = _pick(rng, document)
    key = _key(rng, node)
    del node[key]
    return dump(document), f"{where}: {key!r} deleted"


def rename_key(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    node, where = _pick(rng, document, dict)
    key = _key(rng, node)
    node[rng.choice((key + "_x", key.upper(), "", key[:-1]))] = node.pop(key)
    return dump(document), f"{where}: key {key!r} renamed"


def wrong_type(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    node, where = _pick(rng, document)
    key = _key(rng, node)
    node[key] = rng.choice(WRONG_VALUES)
    return dump(document).replace(b'"NaN"', b"NaN"), f"{where}[{key!r}] = {node[key]!r:.20}"


def inflate_shape(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    places = [(node, key, where) for node, where in containers(document) if isinstance(node, dict)
              for key in node if key in SHAPE_KEYS and _has_int(node[key])]
    if not places:
        raise Skip
    node, key, where = rng.choice(places)
    node[key] = _times_million(node[key])
    return dump(document), f"{where}.{key} inflated by 10^6"


def _has_int(value) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, list) and any(isinstance(v, int) and not isinstance(v, bool) for v in value))


def _times_million(value):
    if isinstance(value, list):
        return [v * 10 ** 6 if isinstance(v, int) and not isinstance(v, bool) and v else v for v in value]
    return value * 10 ** 6 if value else 10 ** 6


def deep_nesting(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    node, where = _pick(rng, document)
    key = _key(rng, node)
    node[key] = DEEP_MARK
    return dump(document), f"{where}[{key!r}] nested 10^5 deep"


def shuffle_list(rng: random.Random, data: bytes) -> tuple:
    document = parse(data)
    node, where = _pick(rng, document, list)
    i, j = rng.randrange(len(node)), rng.randrange(len(node))
    if rng.random() < 0.5:
        node[i], node[j] = node[j], node[i]
        return dump(document), f"{where}: entries {i} and {j} swapped"
    node.insert(j, json.loads(json.dumps(node[i])))
    return dump(document), f"{where}: entry {i} duplicated"


def episode_part(rng: random.Random, data: bytes) -> tuple:
    """A key of the parts of an episode gfsub reads (its configuration, a step, an agent's state, an observation)
    deleted or given a value of the wrong type."""
    document = parse(data)
    if not isinstance(document, dict) or not isinstance(document.get("steps"), list) or not document["steps"]:
        raise Skip
    step = rng.choice(document["steps"])
    state = rng.choice(step) if isinstance(step, list) and step else {}
    observation = state.get("observation", {}) if isinstance(state, dict) else {}
    parts = [document, document.get("configuration"), step, state, observation,
             (observation.get("players_raw") or [{}])[0] if isinstance(observation, dict) else {}]
    node = rng.choice([part for part in parts if isinstance(part, (dict, list)) and part] or [document])
    key = _key(rng, node)
    if rng.random() < 0.3:
        del node[key]
        return dump(document), f"episode: {key!r} deleted"
    node[key] = rng.choice(WRONG_VALUES)
    return dump(document).replace(b'"NaN"', b"NaN"), f"episode: {key!r} = {node[key]!r:.20}"


JSON_MUTATORS = (delete_key, rename_key, wrong_type, wrong_type, inflate_shape, inflate_shape, deep_nesting,
                 shuffle_list)


def random_json(rng: random.Random, data: bytes) -> tuple:
    return rng.choice(JSON_MUTATORS)(rng, data)
