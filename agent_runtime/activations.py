"""Keras' activations in float32 numpy, each written to stay finite and warning-free for any input.

The names are Keras' own; where Keras 2 and Keras 3 differ (hard_sigmoid), the builder names the one the saved
model's Keras computes (`hard_sigmoid_keras2`).
"""

import math

import numpy as np

SELU_ALPHA = np.float32(1.6732632423543772848170429916717)
SELU_SCALE = np.float32(1.0507009873554804934193349852946)
HALF = np.float32(0.5)
ONE = np.float32(1.0)


def relu(x):
    return np.maximum(x, np.float32(0.0))


def sigmoid(x):
    return HALF * (ONE + np.tanh(HALF * x))  # = 1 / (1 + e^-x), without overflow


def elu(x, alpha=1.0):
    return np.where(x > 0, x, np.float32(alpha) * np.expm1(np.minimum(x, np.float32(0.0))))


def leaky_relu(x, negative_slope=0.2):
    return np.where(x > 0, x, np.float32(negative_slope) * x)


def softmax(x, axis=-1):
    shifted = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


ERF_BY_ELEMENT = 256  # up to this many values, math.erf one by one costs less than the numpy polynomial's calls
ERF_TERMS = np.array([1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
                      -0.82215223, 0.17087277])  # of t, t^2, ... t^9 in erfc's exponent


def erf(x):
    """The error function in float32: the C library's for a small tensor; for a larger one Numerical Recipes' erfc
    (fractional error below 1.2e-7), its polynomial one product of the terms with the powers of t."""
    if x.size <= ERF_BY_ELEMENT:
        return np.array([math.erf(v) for v in x.ravel().tolist()], dtype=np.float32).reshape(x.shape)
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    powers = np.multiply.accumulate(np.repeat(t.reshape(1, -1), len(ERF_TERMS), axis=0), axis=0)
    poly = np.dot(ERF_TERMS, powers).reshape(z.shape) - z * z - 1.26551223
    return np.copysign(1.0 - t * np.exp(poly), x).astype(np.float32)


def gelu(x):
    return HALF * x * (ONE + erf(x / np.float32(np.sqrt(2.0))))


def gelu_tanh(x):
    inner = np.float32(np.sqrt(2.0 / np.pi)) * (x + np.float32(0.044715) * x * x * x)
    return HALF * x * (ONE + np.tanh(inner))


ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": relu,
    "relu6": lambda x: np.clip(x, np.float32(0.0), np.float32(6.0)),
    "elu": elu,
    "selu": lambda x: SELU_SCALE * elu(x, SELU_ALPHA),
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "swish": lambda x: x * sigmoid(x),
    "silu": lambda x: x * sigmoid(x),
    "tanh": np.tanh,
    "sigmoid": sigmoid,
    "hard_sigmoid": lambda x: np.clip(x + np.float32(3.0), np.float32(0.0), np.float32(6.0)) / np.float32(6.0),
    "hard_sigmoid_keras2": lambda x: np.clip(np.float32(0.2) * x + HALF, np.float32(0.0), ONE),
    "softplus": lambda x: np.logaddexp(np.float32(0.0), x),
    "softsign": lambda x: x / (np.abs(x) + ONE),
    "softmax": softmax,
    "leaky_relu": leaky_relu,
}


def activate(x, name):
    """Keras' activation `name` applied to x (float32)."""
    return ACTIVATIONS[name](x)
