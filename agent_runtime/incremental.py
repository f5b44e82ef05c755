"""Incremental forward pass: compute only what the sparse frame difference changes.

The idea: the model's input is the difference of two SMM frames, and gfootball's SMM marks ONE pixel per player,
the ball and the active player, so only a few dozen of the 27,648 inputs are non-zero. For the all-zero input
every activation is a constant (border effects of `same` padding included), computed once at load, together
with fc1's response to it. Per step, layer by layer, only the outputs whose window holds a changed input are
recomputed, and only those whose value really moved go on to the next layer; lookup tables made at load say
which outputs an input reaches and which inputs a window reads. fc1's response is then corrected with the kernel
rows of the positions that moved, read as contiguous blocks. Everything after fc1 is small and shared with the
dense path. A layer that too much of its input changed for this to pay (a goal's reset of every player, say) is
computed whole, the dense way, and the next layer goes on from its result.
"""

import numpy as np

from agent_runtime.numpy_model import NumpySplitterConvNN, activate, pad_amounts

# A conv or pool layer is computed whole once a change reaches more than this share of its outputs, and fc1 once
# more than FC1_DENSE_ABOVE of its input positions moved: past these shares the incremental way costs more
# (crossovers measured on the notebook net: benchmarks/bench_forward.py, table in benchmarks/FORWARD.md). fc1's
# crossover is 0.4 for changes scattered at random but above 0.55 for a real match's resets, whose changes cluster.
DENSE_ABOVE = 0.7
FC1_DENSE_ABOVE = 0.6


class _Stage:
    """One conv or max-pool of every branch, with the tables to recompute a few of its outputs.

    Positions are flat indices into (branch, row, col) of the stage's input or output; values are (n, channels).
    """

    def __init__(self, stage: tuple, base_in: np.ndarray, base_out: np.ndarray) -> None:
        kind, window, strides, padding, kernels, biases, activation = stage
        self.stage, self.kind, self.activation = stage, kind, activation
        branches, height, width, channels = base_in.shape
        out_h, out_w, filters = base_out.shape[1:]
        self.base_in = np.ascontiguousarray(base_in, dtype=np.float32)
        self.base_out = np.ascontiguousarray(base_out.reshape(-1, filters), dtype=np.float32)
        self.n_outputs = len(self.base_out)
        if kind == "conv":
            self.kernels = np.ascontiguousarray(kernels.reshape(branches, -1, filters))  # (branch, window, filters)
            self.biases = biases
        self.window_size = window[0] * window[1] * channels
        self.branch_starts = np.arange(branches + 1) * out_h * out_w
        self.dense_above = int(DENSE_ABOVE * self.n_outputs)
        self.ran_dense = False

        pads = [pad_amounts(n, k, s) if padding == "same" else (0, 0) for n, k, s in zip((height, width), window,
                                                                                          strides)]
        padded = np.pad(self.base_in, [(0, 0)] + pads + [(0, 0)], mode="constant",
                        constant_values=-np.inf if kind == "pool" else 0.0)
        self.base_padded = np.ascontiguousarray(padded.reshape(-1, channels))
        padded_hw = padded.shape[1:3]
        (top, _), (left, _) = pads
        # the lookup tables, in int32: half the cache they would take as int64
        b, r, c = np.meshgrid(np.arange(branches), np.arange(height), np.arange(width), indexing="ij")
        self.padded_row = ((b * padded_hw[0] + r + top) * padded_hw[1] + c + left).reshape(-1).astype(np.int32)
        self.window_rows = _window_rows(branches, (out_h, out_w), padded_hw, window, strides).astype(np.int32)
        self.reached = _reached_outputs(base_in.shape[:3], (out_h, out_w), (top, left), window, strides).astype(
            np.int32)

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
                    np.matmul(patches[start:stop], self.kernels[branch], out=fresh[start:stop])
                    fresh[start:stop] += self.biases[branch]
            fresh = activate(fresh, self.activation)
        moved = np.any(fresh != self.base_out[outputs], axis=1)  # a ReLU often keeps its 0: nothing to pass on
        return outputs[moved], fresh[moved]

    def dense(self, changed: np.ndarray, values: np.ndarray) -> tuple:
        """The same result through the dense layer (NumpySplitterConvNN's own code) on the whole input."""
        x = self.base_in.copy()
        x.reshape(-1, x.shape[-1])[changed] = values
        out = NumpySplitterConvNN.apply_stage(x, self.stage).reshape(self.base_out.shape)
        moved = np.flatnonzero(np.any(out != self.base_out, axis=1))
        return moved, out[moved]


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


class IncrementalForward:
    """Q-values of `network` (a NumpySplitterConvNN) for one observation, recomputing only what changed."""

    def __init__(self, network: NumpySplitterConvNN) -> None:
        self.network = network
        arch = network.arch
        height, width = arch.input_shape[:2]
        x = np.zeros((arch.n_branches, height, width, 1), dtype=np.float32)  # the all-zero input, branch-major
        self.stages = []
        for stage in network.layer_stages():
            out = network.apply_stage(x, stage)
            self.stages.append(_Stage(stage, x, out))
            x = out
        # observation index (row, col, channel) -> input position (branch = channel, row, col)
        r, c, b = np.meshgrid(np.arange(height), np.arange(width), np.arange(arch.n_branches), indexing="ij")
        self.input_position = ((b * height + r) * width + c).reshape(-1).astype(np.int32)
        self.base_features = x.reshape(-1, x.shape[-1])  # (fc1's input positions, features per position)
        self.fc1_kernel, self.fc1_bias = network.dense[network.hidden[0]]  # (needs a dense layer: see the loader)
        self.base_fc1 = self.base_features.reshape(-1) @ self.fc1_kernel + self.fc1_bias
        self.fc1_dense_above = int(FC1_DENSE_ABOVE * len(self.base_features))
        self.last_changed_fraction = 0.0  # share of fc1's input features that moved, last call
        self.last_dense_layers = 0  # how many layers (convs, pools, fc1) were computed whole, last call

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        flat = np.asarray(observation, dtype=np.float32).reshape(-1)
        marked = np.flatnonzero(flat != 0)  # the few pixels that differ from the previous frame
        positions = self.input_position[marked]
        order = np.argsort(positions)
        changed, values = positions[order], flat[marked[order]][:, None]
        for stage in self.stages:
            changed, values = stage(changed, values)

        delta = values - self.base_features[changed]
        self.last_changed_fraction = np.count_nonzero(delta) / self.base_features.size
        self.last_dense_layers = sum(stage.ran_dense for stage in self.stages)
        if len(changed) > self.fc1_dense_above:
            self.last_dense_layers += 1
            return self.network.head(self.fc1_whole(changed, values))
        return self.network.head(self.fc1_corrected(changed, delta))

    def fc1_whole(self, changed: np.ndarray, values: np.ndarray) -> np.ndarray:
        """fc1's pre-activation from all its input features (the dense way)."""
        features = self.base_features.copy()
        features[changed] = values
        return features.reshape(-1) @ self.fc1_kernel + self.fc1_bias

    def fc1_corrected(self, changed: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """fc1's pre-activation: the all-zero input's, corrected by the moved positions' `delta` (n, features)."""
        fc1 = self.base_fc1.copy()
        block = delta.shape[1]  # features per position: a position's fc1 kernel rows are one contiguous block
        for start, stop in _runs(changed):  # consecutive positions: one product with one contiguous row range
            rows = slice(changed[start] * block, (changed[stop - 1] + 1) * block)
            fc1 += delta[start:stop].reshape(-1) @ self.fc1_kernel[rows]
        return fc1

def _runs(sorted_values: np.ndarray) -> list:
    """[(start, stop)] index ranges of the runs of consecutive integers in a sorted array."""
    breaks = np.flatnonzero(np.diff(sorted_values) != 1) + 1
    edges = [0] + breaks.tolist() + [len(sorted_values)]
    return [(start, stop) for start, stop in zip(edges[:-1], edges[1:]) if stop > start]
