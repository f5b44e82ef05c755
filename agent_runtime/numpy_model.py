"""SplitterConvNN forward pass in plain numpy (float32): no TensorFlow import, fast to load.

Convolutions use im2col over a strided window view, batched across the branches; padding,
strides and pooling follow Keras' semantics (`same` pads bottom/right with the larger half).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from agent_runtime.architecture import Architecture, conv_name


def pad_amounts(length: int, window: int, stride: int) -> tuple:
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def _pad_same(x: np.ndarray, window: tuple, strides: tuple, value: float) -> np.ndarray:
    """Pad axes 1, 2 of (B, H, W, C) the way Keras' `same` padding does."""
    top, bottom = pad_amounts(x.shape[1], window[0], strides[0])
    left, right = pad_amounts(x.shape[2], window[1], strides[1])
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, window: tuple, strides: tuple) -> np.ndarray:
    """(B, H, W, C) -> (B, Ho, Wo, C, kh, kw) read-only strided view, no copy (works on numpy >= 1.16)."""
    branches, height, width, channels = x.shape
    out_h = (height - window[0]) // strides[0] + 1
    out_w = (width - window[1]) // strides[1] + 1
    sb, sh, sw, sc = x.strides
    return as_strided(x, shape=(branches, out_h, out_w, channels, window[0], window[1]),
                      strides=(sb, sh * strides[0], sw * strides[1], sc, sh, sw), writeable=False)


SELU_ALPHA = np.float32(1.6732632423543772848170429916717)
SELU_SCALE = np.float32(1.0507009873554804934193349852946)


def activate(x: np.ndarray, name: str) -> np.ndarray:
    """Keras' activation `name`, in float32, written to stay finite and warning-free for any input."""
    if name == "relu":
        return np.maximum(x, 0.0, out=x)
    if name == "linear":
        return x
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return np.float32(0.5) * (np.float32(1.0) + np.tanh(np.float32(0.5) * x))  # = 1 / (1 + e^-x), no overflow
    if name == "softplus":
        return np.logaddexp(np.float32(0.0), x)  # = log(1 + e^x), no overflow
    negative = np.expm1(np.minimum(x, 0.0))
    if name == "elu":
        return np.where(x > 0, x, negative)
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * negative)
    if name == "leaky_relu":
        return np.where(x > 0, x, np.float32(0.2) * x)
    raise ValueError("unknown activation " + repr(name))


def conv2d(x: np.ndarray, kernels: np.ndarray, biases: np.ndarray, strides: tuple, padding: str,
           activation: str = "relu") -> np.ndarray:
    """Per-branch convolution: x (B, H, W, C), kernels (B, kh, kw, C, F), biases (B, F) -> (B, Ho, Wo, F)."""
    window = kernels.shape[1:3]
    if padding == "same":
        x = _pad_same(x, window, strides, 0.0)
    patches = _windows(x, window, strides)  # (B, Ho, Wo, C, kh, kw)
    branches, out_h, out_w = patches.shape[:3]
    columns = patches.transpose(0, 1, 2, 4, 5, 3).reshape(branches, out_h * out_w, -1)
    weights = kernels.reshape(branches, -1, kernels.shape[-1])
    out = activate(np.matmul(columns, weights) + biases[:, None, :], activation)
    return out.reshape(branches, out_h, out_w, -1)


def max_pool(x: np.ndarray, size: tuple, strides: tuple, padding: str) -> np.ndarray:
    if padding == "same":
        x = _pad_same(x, size, strides, -np.inf)
    return _windows(x, size, strides).max(axis=(4, 5))


class NumpySplitterConvNN:
    """The network for `arch`, evaluated with numpy on one observation at a time."""

    def __init__(self, arch: Architecture, named_weights: list) -> None:
        self.arch = arch
        weights = dict(named_weights)
        n = arch.n_branches
        self.convs = []
        for depth, conv in enumerate(arch.convs, start=1):
            kernels = np.stack([weights[f"{conv_name(depth, b)}/kernel"] for b in range(n)]).astype(np.float32)
            biases = np.stack([weights[f"{conv_name(depth, b)}/bias"] for b in range(n)]).astype(np.float32)
            self.convs.append((conv, kernels, biases))
        heads = ["value", "advantage"] if arch.dueling else ["output"]
        names = [f"fc{i}" for i in range(1, len(arch.dense_units) + 1)] + heads
        self.dense = {name: (np.ascontiguousarray(weights[f"{name}/kernel"], dtype=np.float32),
                             np.asarray(weights[f"{name}/bias"], dtype=np.float32)) for name in names}
        self.hidden = names[: len(arch.dense_units)]

    def layer_stages(self) -> list:
        """The branch layers in order: (kind, window, strides, padding, kernels, biases, activation) per conv or
        max-pool, applied to all branches at once."""
        stages = []
        for conv, kernels, biases in self.convs:
            stages.append(("conv", tuple(kernels.shape[1:3]), tuple(conv.strides), conv.padding, kernels, biases,
                           conv.activation))
            if conv.pool is not None:
                stages.append(("pool", tuple(conv.pool.size), tuple(conv.pool.strides), conv.pool.padding, None,
                               None, ""))
        return stages

    @staticmethod
    def apply_stage(x: np.ndarray, stage: tuple) -> np.ndarray:
        kind, window, strides, padding, kernels, biases, activation = stage
        if kind == "pool":
            return max_pool(x, window, strides, padding)
        return conv2d(x, kernels, biases, strides, padding, activation)

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        """(H, W, C) float32 -> (n_actions,) Q-values, every layer computed in full (the dense path)."""
        x = np.asarray(observation, dtype=np.float32)
        x = np.ascontiguousarray(np.moveaxis(x, -1, 0)[..., None])  # one (H, W, 1) image per branch
        for stage in self.layer_stages():
            x = self.apply_stage(x, stage)
        features = x.reshape(-1)  # Flatten each branch (H, W, F) row-major, then concatenate in branch order
        if not self.hidden:
            return self.q_head(features)
        kernel, bias = self.dense[self.hidden[0]]
        return self.head(features @ kernel + bias)

    def head(self, fc1: np.ndarray) -> np.ndarray:
        """From fc1's pre-activation to the Q-values: the part the dense and the incremental path share."""
        features = activate(fc1, self.arch.dense_activations[0])
        for name, activation in zip(self.hidden[1:], self.arch.dense_activations[1:]):
            kernel, bias = self.dense[name]
            features = activate(features @ kernel + bias, activation)
        return self.q_head(features)

    def q_head(self, features: np.ndarray) -> np.ndarray:
        if self.arch.dueling:
            value = features @ self.dense["value"][0] + self.dense["value"][1]
            advantage = features @ self.dense["advantage"][0] + self.dense["advantage"][1]
            return value + advantage - advantage.mean()
        kernel, bias = self.dense["output"]
        return activate(features @ kernel + bias, self.arch.head_activation)
