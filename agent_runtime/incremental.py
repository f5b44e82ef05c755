"""Incremental forward pass: compute only what a sparse SMM input changes.

The idea: gfootball's SMM marks ONE pixel per player, the ball and the active player, so a frame, a stack of frames
or the difference of two has only a few dozen non-zero values among tens of thousands. For the all-zero input every
activation of the first layers is a constant (border effects of `same` padding included), computed once at load.
Per step, layer by layer, only the outputs whose window holds a changed input are recomputed, and only those whose
value really moved go on; lookup tables made at load say which outputs an input reaches and which inputs a window
reads. Where these layers end in a Dense layer (through Flatten, and a Concatenate with other tensors or not), its
response to the zero input is corrected with the kernel rows of the positions that moved, read as contiguous
blocks; otherwise the last layer's output is written out whole. The rest of the graph runs as usual from there.
A layer that too much of its input changed for this to pay (a goal's reset of every player, say) is computed whole,
and the next goes on from its result.

The layers this covers, from an SMM input: an optional scalar Rescaling, an optional channel split (the notebook's
branches), then per branch a chain of Conv2D, MaxPooling2D and per-position layers (BatchNormalization,
activations), identical in every branch.
"""

import numpy as np

from agent_runtime.activations import activate
from agent_runtime.layers import OPS, convolve, max_pool, pad_amounts

# A conv or pool layer is computed whole once a change reaches more than this share of its outputs, and the Dense
# layer once more than DENSE_LAYER_WHOLE_ABOVE of its input positions moved: past these shares the incremental way
# costs more (crossovers measured: benchmarks/bench_forward.py, table in docs/benchmarks/forward.md). The Dense layer's
# crossover is 0.4 for changes scattered at random but above 0.55 for a real match's resets, whose changes cluster.
DENSE_ABOVE = 0.7
DENSE_LAYER_WHOLE_ABOVE = 0.6
WINDOW_OPS = ("conv2d", "max_pool2d")
POINTWISE_OPS = ("batch_norm", "activation", "relu", "leaky_relu", "elu")


class _Stage:
    """One conv or max-pool layer of every branch, with the tables to recompute a few of its outputs.

    Positions are flat indices into (branch, row, col) of the stage's input or output; values are (n, channels).
    """

    def __init__(self, nodes: list, weights: list, base_in: np.ndarray) -> None:
        node = nodes[0]
        self.kind = "pool" if node["op"] == "max_pool2d" else "conv"
        self.activation = node.get("activation", "linear")
        window = tuple(node["kernel_size"] if self.kind == "conv" else node["size"])
        strides, padding = tuple(node["strides"]), node["padding"]
        self.window, self.strides, self.padding = window, strides, padding
        branches, height, width, channels = base_in.shape
        if self.kind == "conv":
            self.kernels = np.stack([w[0] for w in weights]).astype(np.float32)  # (branch, kh, kw, C, F)
            self.biases = (np.stack([w[1] for w in weights]) if len(weights[0]) > 1 else
                           np.zeros((branches, self.kernels.shape[-1]))).astype(np.float32)
        base_out = self.whole(base_in)
        out_h, out_w, filters = base_out.shape[1:]
        self.base_in = np.ascontiguousarray(base_in, dtype=np.float32)
        self.base_out = np.ascontiguousarray(base_out.reshape(-1, filters), dtype=np.float32)
        self.out_shape = base_out.shape
        self.n_outputs = len(self.base_out)
        if self.kind == "conv":
            self.flat_kernels = np.ascontiguousarray(self.kernels.reshape(branches, -1, filters))
        self.window_size = window[0] * window[1] * channels
        self.branch_starts = np.arange(branches + 1) * out_h * out_w
        self.dense_above = int(DENSE_ABOVE * self.n_outputs)
        self.ran_dense = False

        pads = [pad_amounts(n, k, s) if padding == "same" else (0, 0) for n, k, s in zip((height, width), window,
                                                                                          strides)]
        padded = np.pad(self.base_in, [(0, 0)] + pads + [(0, 0)], mode="constant",
                        constant_values=-np.inf if self.kind == "pool" else 0.0)
        self.base_padded = np.ascontiguousarray(padded.reshape(-1, channels))
        padded_hw = padded.shape[1:3]
        (top, _), (left, _) = pads
        # the lookup tables, in int32: half the cache they would take as int64
        b, r, c = np.meshgrid(np.arange(branches), np.arange(height), np.arange(width), indexing="ij")
        self.padded_row = ((b * padded_hw[0] + r + top) * padded_hw[1] + c + left).reshape(-1).astype(np.int32)
        self.window_rows = _window_rows(branches, (out_h, out_w), padded_hw, window, strides).astype(np.int32)
        self.reached = _reached_outputs(base_in.shape[:3], (out_h, out_w), (top, left), window, strides).astype(
            np.int32)

    def whole(self, x: np.ndarray) -> np.ndarray:
        """The layer on a whole input of every branch (B, H, W, C), the dense way."""
        if self.kind == "pool":
            return max_pool(x, self.window, self.strides, self.padding)
        return activate(convolve(x, self.kernels, self.biases, self.strides, self.padding), self.activation)

    def __call__(self, changed: np.ndarray, values: np.ndarray) -> tuple:
        """Inputs at sorted positions `changed` now hold `values` -> (sorted output positions that moved, values).

        Few outputs reached: recompute those. Many (a share above DENSE_ABOVE): the whole layer."""
        hits = np.bincount(self.reached[changed].reshape(-1), minlength=self.n_outputs + 1)
        outputs = np.flatnonzero(hits[: self.n_outputs])  # sorted, so each branch's outputs are one slice
        self.ran_dense = len(outputs) > self.dense_above
        if self.ran_dense:
            return self.dense(changed, values)
        padded = self.base_padded.copy()
        padded[self.padded_row[changed]] = values
        patches = padded[self.window_rows[outputs]]  # (n, kh * kw, channels)
        if self.kind == "pool":
            fresh = patches.max(axis=1)
        else:
            patches = patches.reshape(len(outputs), self.window_size)
            fresh = np.empty((len(outputs), self.base_out.shape[1]), dtype=np.float32)
            bounds = np.searchsorted(outputs, self.branch_starts).tolist()
            for branch, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
                if stop > start:  # one matrix product per branch (each has its own kernel)
                    np.matmul(patches[start:stop], self.flat_kernels[branch], out=fresh[start:stop])
                    fresh[start:stop] += self.biases[branch]
            fresh = activate(fresh, self.activation)
        moved = np.any(fresh != self.base_out[outputs], axis=1)  # a ReLU often keeps its 0: nothing to pass on
        return outputs[moved], fresh[moved]

    def dense(self, changed: np.ndarray, values: np.ndarray) -> tuple:
        """The same result from the whole layer."""
        x = self.base_in.copy()
        x.reshape(-1, x.shape[-1])[changed] = values
        out = self.whole(x).reshape(self.base_out.shape)
        moved = np.flatnonzero(np.any(out != self.base_out, axis=1))
        return moved, out[moved]


class _PointwiseStage:
    """A layer that maps each position on its own (BatchNormalization, an activation): only changed positions."""

    def __init__(self, nodes: list, weights: list, base_in: np.ndarray) -> None:
        self.node = nodes[0]  # the branches' layers have the same settings; each its own weights
        self.per_branch = weights
        base_out = np.stack([self.apply(branch, base_in[branch:branch + 1])[0] for branch in range(len(base_in))])
        self.out_shape = base_out.shape
        self.base_out = np.ascontiguousarray(base_out.reshape(-1, base_out.shape[-1]))
        self.positions_per_branch = base_out.shape[1] * base_out.shape[2]
        self.ran_dense = False

    def apply(self, branch: int, x: np.ndarray) -> np.ndarray:
        return OPS[self.node["op"]](self.node, [x], self.per_branch[branch])

    def __call__(self, changed: np.ndarray, values: np.ndarray) -> tuple:
        branches = changed // self.positions_per_branch
        fresh = np.empty_like(values)
        for branch in np.unique(branches).tolist():
            rows = branches == branch
            fresh[rows] = self.apply(branch, values[rows][None, :, None, :])[0, :, 0, :]
        moved = np.any(fresh != self.base_out[changed], axis=1)
        return changed[moved], fresh[moved]


def _window_rows(branches: int, out_hw: tuple, padded_hw: tuple, window: tuple, strides: tuple) -> np.ndarray:
    """(outputs, kh * kw): the rows of the flattened padded input each output's window reads, in kernel order."""
    b, i, j, u, v = np.meshgrid(np.arange(branches), np.arange(out_hw[0]), np.arange(out_hw[1]),
                                np.arange(window[0]), np.arange(window[1]), indexing="ij")
    rows = (b * padded_hw[0] + i * strides[0] + u) * padded_hw[1] + j * strides[1] + v
    return rows.reshape(-1, window[0] * window[1])


def _reached_outputs(in_shape: tuple, out_hw: tuple, pad_before: tuple, window: tuple, strides: tuple):
    """(inputs, reach): the outputs whose window holds each input, at most ceil(k / s) per axis; padded with the
    number of outputs (one past the last) where there are fewer."""
    branches, height, width = in_shape
    (kh, kw), (sh, sw), (top, left) = window, strides, pad_before
    reach_h, reach_w = -(-kh // sh), -(-kw // sw)
    b, r, c, a, e = np.meshgrid(np.arange(branches), np.arange(height), np.arange(width), np.arange(reach_h),
                                np.arange(reach_w), indexing="ij")
    i, j = (r + top) // sh - a, (c + left) // sw - e  # candidate output row and column
    inside = (i >= 0) & (i < out_hw[0]) & (j >= 0) & (j < out_hw[1]) & (r + top - i * sh < kh) & (
        c + left - j * sw < kw)
    none = branches * out_hw[0] * out_hw[1]
    return np.where(inside, (b * out_hw[0] + i) * out_hw[1] + j, none).reshape(-1, reach_h * reach_w)


class _Prefix:
    """The sparse layers after one SMM input: stages, and how they end (a Dense layer, or the last stage's output)."""

    def __init__(self, model, input_index: int, chains: list, scale: float) -> None:
        self.input_index, self.scale, self.chains = input_index, np.float32(scale), chains
        height, width, channels = model.graph["input_shapes"][input_index]
        self.split = len(chains) > 1
        branches, depth = len(chains), (1 if len(chains) > 1 else channels)
        x = np.zeros((branches, height, width, depth), dtype=np.float32)  # the all-zero input, one image per branch
        self.stages = []
        for position in range(len(chains[0])):
            nodes = [chain[position] for chain in chains]
            weights = [model.weights[node["name"]] for node in nodes]
            stage = (_Stage if nodes[0]["op"] in WINDOW_OPS else _PointwiseStage)(nodes, weights, x)
            self.stages.append(stage)
            x = stage.base_out.reshape(stage.out_shape)
        self.base_features = x.reshape(-1, x.shape[-1])  # (positions of the last stage, features per position)
        self.base_output = x
        if self.split:  # observation index (row, col, channel) -> input position (branch = channel, row, col)
            r, c, b = np.meshgrid(np.arange(height), np.arange(width), np.arange(branches), indexing="ij")
            self.input_position = ((b * height + r) * width + c).reshape(-1).astype(np.int32)

    def changes(self, observation: np.ndarray) -> tuple:
        """The input's non-zero values as (sorted positions, values (n, channels))."""
        if self.split:
            flat = observation.reshape(-1)
            marked = np.flatnonzero(flat)
            positions = self.input_position[marked]
            order = np.argsort(positions)
            return positions[order], flat[marked[order]][:, None] * self.scale
        pixels = observation.reshape(-1, observation.shape[-1])
        positions = np.flatnonzero(np.any(pixels != 0, axis=1))
        return positions, pixels[positions] * self.scale

    def __call__(self, observation: np.ndarray) -> tuple:
        """-> (moved positions of the last stage, their values)."""
        changed, values = self.changes(observation)
        for stage in self.stages:
            changed, values = stage(changed, values)
        return changed, values

    def outputs(self, changed: np.ndarray, values: np.ndarray) -> dict:
        """The last stage's output of every branch, written out whole: {node name: (1, H, W, F)}."""
        features = self.base_features.copy()
        features[changed] = values
        per_branch = features.reshape(self.base_output.shape)
        return {chain[-1]["name"]: per_branch[branch:branch + 1] for branch, chain in enumerate(self.chains)}


class _DenseEnd:
    """A Dense layer fed by prefixes through Flatten (and a Concatenate, maybe with other tensors): its
    pre-activation from the zero input's, corrected by the positions that moved."""

    def __init__(self, node: dict, kernel: np.ndarray, bias, parts: list) -> None:
        self.node, self.kernel, self.bias = node, kernel, bias
        self.parts = parts  # [(prefix or tensor name, first kernel row, rows)]
        self.bases = {}
        for prefix, start, size in parts:
            if isinstance(prefix, _Prefix):
                self.bases[id(prefix)] = prefix.base_features.reshape(-1) @ kernel[start:start + size]

    def pre_activation(self, prefix_results: dict, others: dict) -> np.ndarray:
        total = np.zeros(self.kernel.shape[1], dtype=np.float32) if self.bias is None else self.bias.copy()
        for part, start, size in self.parts:
            rows = self.kernel[start:start + size]
            if isinstance(part, _Prefix):
                changed, values = prefix_results[id(part)]
                total += self._part(part, rows, changed, values)
            else:
                total += others[part].reshape(-1) @ rows
        return total

    def _part(self, prefix: _Prefix, rows: np.ndarray, changed: np.ndarray, values: np.ndarray) -> np.ndarray:
        if len(changed) > DENSE_LAYER_WHOLE_ABOVE * len(prefix.base_features):
            prefix.whole_dense = True
            features = prefix.base_features.copy()
            features[changed] = values
            return features.reshape(-1) @ rows
        prefix.whole_dense = False
        delta = values - prefix.base_features[changed]
        out = self.bases[id(prefix)].copy()
        block = delta.shape[1]  # features per position: a position's kernel rows are one contiguous block
        for start, stop in _runs(changed):  # consecutive positions: one product with one contiguous row range
            out += delta[start:stop].reshape(-1) @ rows[changed[start] * block:(changed[stop - 1] + 1) * block]
        return out


class IncrementalForward:
    """The graph's output for one observation, its sparse prefixes computed incrementally (see the module's idea)."""

    def __init__(self, model, prefixes: list, ends: list) -> None:
        self.model, self.prefixes, self.ends = model, prefixes, ends
        self.ended = {id(part) for end in ends for part, _, _ in end.parts if isinstance(part, _Prefix)}
        known = [end.node["name"] for end in ends] + [chain[-1]["name"] for prefix in prefixes
                                                     if id(prefix) not in self.ended for chain in prefix.chains]
        others = [part for end in ends for part, _, _ in end.parts if isinstance(part, str)]
        self.others_needed = model.needed(others, known=[])
        self.rest_needed = model.needed([model.graph["output"]], known=known + others)
        self.last_changed_fraction = 0.0  # share of the last stages' features that moved, last call
        self.last_dense_layers = 0  # how many layers were computed whole, last call

    def __call__(self, inputs: list) -> np.ndarray:
        results, known, moved, total = {}, {}, 0, 0
        for prefix in self.prefixes:
            changed, values = prefix(np.asarray(inputs[prefix.input_index], dtype=np.float32)[0])
            results[id(prefix)] = (changed, values)
            moved += np.count_nonzero(values - prefix.base_features[changed])
            total += prefix.base_features.size
        for prefix in self.prefixes:
            if id(prefix) not in self.ended:
                known.update(prefix.outputs(*results[id(prefix)]))
        others = self.model.run(inputs, only=self.others_needed)  # the inputs, and what other parts need
        for end in self.ends:
            pre = end.pre_activation(results, others)
            known[end.node["name"]] = activate(pre, end.node.get("activation", "linear"))[None]
        self.last_changed_fraction = moved / max(total, 1)
        self.last_dense_layers = sum(stage.ran_dense for prefix in self.prefixes for stage in prefix.stages) + sum(
            bool(getattr(prefix, "whole_dense", False)) for prefix in self.prefixes)
        values = self.model.run(inputs, known={**others, **known}, only=self.rest_needed)
        return self.model.value(values, self.model.graph["output"])


# ----- finding the sparse prefixes of a graph -----------------------------------------------------------------
def incremental_forward(model, observation_specs: list) -> "IncrementalForward | None":
    """The incremental forward of this graph when an SMM input starts a chain of layers it covers, else None."""
    consumers = {}
    for node in model.nodes:
        for item in node["inputs"]:
            if isinstance(item, str):
                consumers.setdefault(item.rpartition(":")[0] if ":" in item else item, []).append(node)
    prefixes = []
    for index, spec in enumerate(observation_specs):
        if spec.get("representation") == "smm" and index < len(model.graph["inputs"]):
            prefix = _find_prefix(model, index, consumers)
            if prefix is not None:
                prefixes.append(prefix)
    if not prefixes:
        return None
    shapes = {name: np.shape(value) for name, value in model.run(
        [np.zeros([1] + list(shape), dtype=np.float32) for shape in model.graph["input_shapes"]]).items()
        if not isinstance(value, list)}
    return IncrementalForward(model, prefixes, _dense_ends(model, prefixes, consumers, shapes))


def _only_consumer(consumers: dict, name: str) -> "dict | None":
    found = consumers.get(name, [])
    return found[0] if len(found) == 1 else None


def _find_prefix(model, index: int, consumers: dict) -> "_Prefix | None":
    name, scale = model.graph["inputs"][index], 1.0
    node = _only_consumer(consumers, name)
    if node is not None and node["op"] == "rescale" and node["offset"] == 0.0:
        name, scale, node = node["name"], node["scale"], _only_consumer(consumers, node["name"])
    channels = model.graph["input_shapes"][index][-1]
    if node is not None and node["op"] == "split" and node["sections"] == channels:
        starts = [node["name"] if branch == 0 else "{}:{}".format(node["name"], branch) for branch in range(channels)]
        chains = [_chain(model, start, consumers) for start in starts]
    else:
        chains = [_chain(model, name, consumers)]
    if not chains[0] or any(not _same_layers(chain, chains[0]) for chain in chains):
        return None
    return _Prefix(model, index, chains, scale)


def _chain(model, tensor: str, consumers: dict) -> list:
    """The covered layers from `tensor` on, each the only reader of the one before."""
    found = []
    users = [n for n in model.nodes if tensor in n["inputs"]]
    while len(users) == 1 and (users[0]["op"] in WINDOW_OPS or users[0]["op"] in POINTWISE_OPS) and \
            len(users[0]["inputs"]) == 1:
        found.append(users[0])
        users = consumers.get(users[0]["name"], [])
    return found


def _same_layers(chain: list, first: list) -> bool:
    keys = ("op", "kernel_size", "size", "strides", "padding", "activation", "filters")
    return len(chain) == len(first) and all(all(a.get(k) == b.get(k) for k in keys) for a, b in zip(chain, first))


def _dense_ends(model, prefixes: list, consumers: dict, shapes: dict) -> list:
    """The Dense layers that prefixes feed through Flatten (and one Concatenate), with every part's kernel rows."""
    ends, claimed = [], set()
    for prefix in prefixes:
        flattens = [_only_consumer(consumers, chain[-1]["name"]) for chain in prefix.chains]
        if any(node is None or node["op"] != "flatten" for node in flattens):
            continue
        after = [_only_consumer(consumers, node["name"]) for node in flattens]
        if len(prefix.chains) == 1 and after[0] is not None and after[0]["op"] == "dense":
            dense, parts = after[0], [(prefix, 0, prefix.base_features.size)]
        elif after[0] is not None and after[0]["op"] == "concatenate" and all(node is after[0] for node in after):
            concat = after[0]
            dense = _only_consumer(consumers, concat["name"])
            names = [node["name"] for node in flattens]
            if dense is None or dense["op"] != "dense" or concat.get("axis", -1) not in (-1, 1) or \
                    any(not isinstance(i, str) for i in concat["inputs"]):
                continue
            if concat["inputs"][concat["inputs"].index(names[0]):][:len(names)] != names:
                continue  # the branches must be joined in order, side by side
            parts, row = [], 0
            for item in concat["inputs"]:
                if item == names[0]:
                    parts.append((prefix, row, prefix.base_features.size))
                    row += prefix.base_features.size
                elif item not in names:
                    size = int(np.prod(shapes[item][1:]))
                    parts.append((item, row, size))
                    row += size
        else:
            continue
        if dense["name"] in claimed:
            continue
        claimed.add(dense["name"])
        weights = model.weights[dense["name"]]
        ends.append(_DenseEnd(dense, weights[0], weights[1] if len(weights) > 1 else None, parts))
    return ends


def _runs(sorted_values: np.ndarray) -> list:
    """[(start, stop)] index ranges of the runs of consecutive integers in a sorted array."""
    breaks = np.flatnonzero(np.diff(sorted_values) != 1) + 1
    edges = [0] + breaks.tolist() + [len(sorted_values)]
    return [(start, stop) for start, stop in zip(edges[:-1], edges[1:]) if stop > start]
