"""The convolution both front doors end in: Keras' Conv2D (layers.py) and ONNX's Conv (tensor_ops.py).

Channels last, `valid` (the callers pad): x (N, H, W, C) and a kernel (kh, kw, C / groups, F) -> (N, Ho, Wo, F),
without bias. Two exact ways, chosen by how many values each moves:
- im2col: every window copied out as a row, one matmul with the kernel as a matrix;
- blocks, when the strides divide the kernel (Atari-style 8x8 / 4, undilated, one group): the input is cut into
  stride-sized blocks, each copied once, and each output sums the kernel's pieces over its kh/sh x kw/sw blocks.
  A window of an 8x8 kernel at stride 4 is 2x2 blocks: the im2col copy is 4x the input, the blocks' is 1x.
Python 3.7 / numpy 1.16 code, embedded verbatim in main.py.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided


def image_windows(x, kernel, strides, dilations):
    """(N, H, W, C) -> (N, Ho, Wo, kh, kw, C), a read-only strided view (the windows' dilations kept)."""
    x = np.ascontiguousarray(x)
    n, height, width, channels = x.shape
    out_h = (height - (kernel[0] - 1) * dilations[0] - 1) // strides[0] + 1
    out_w = (width - (kernel[1] - 1) * dilations[1] - 1) // strides[1] + 1
    sn, sh, sw, sc = x.strides
    return as_strided(x, shape=(n, out_h, out_w, kernel[0], kernel[1], channels),
                      strides=(sn, sh * strides[0], sw * strides[1], sh * dilations[0], sw * dilations[1], sc),
                      writeable=False)


def blocks_pay(x, kernel, strides, dilations, groups):
    """Whether the blocked convolution applies and moves under half the values im2col does."""
    (height, width, channels), (kh, kw, _, filters) = x.shape[1:], kernel.shape
    sh, sw = strides
    if groups != 1 or tuple(dilations) != (1, 1) or sh * sw == 1 or kh % sh or kw % sw:
        return False
    out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
    blocks = (out_h + kh // sh - 1) * (out_w + kw // sw - 1)
    return out_h * out_w * kh * kw * channels > 2 * blocks * (sh * sw * channels + (kh // sh) * (kw // sw) * filters)


def blocked_convolution(x, kernel, strides):
    """The convolution by stride-sized blocks: one copy of the input, a matmul of each block with every piece of
    the kernel, then each output the sum of its pieces (bh x bw of them, each from its own block)."""
    n, channels = x.shape[0], x.shape[3]
    (kh, kw, _, filters), (sh, sw) = kernel.shape, strides
    bh, bw = kh // sh, kw // sw
    out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
    rows, cols = out_h + bh - 1, out_w + bw - 1
    blocks = x[:, :rows * sh, :cols * sw, :].reshape(n, rows, sh, cols, sw, channels).transpose(0, 1, 3, 2, 4, 5)
    pieces = kernel.reshape(bh, sh, bw, sw, channels, filters).transpose(1, 3, 4, 0, 2, 5)
    each = np.matmul(blocks.reshape(n, rows, cols, -1), pieces.reshape(sh * sw * channels, -1))
    each = each.reshape(n, rows, cols, bh, bw, filters)
    out = each[:, :out_h, :out_w, 0, 0, :].copy()
    for a in range(bh):
        for b in range(bw):
            if a or b:
                out += each[:, a:a + out_h, b:b + out_w, a, b, :]
    return out


def image_convolution(x, kernel, strides, dilations=(1, 1), groups=1):
    """x (N, H, W, C) with kernel (kh, kw, C / groups, F), or one kernel per sample (N, kh, kw, C, F) ->
    (N, Ho, Wo, F); `valid`, no bias. Filters come group by group, as ONNX's."""
    if kernel.ndim == 4 and blocks_pay(x, kernel, strides, dilations, groups):
        return blocked_convolution(x, kernel, strides)
    patches = image_windows(x, kernel.shape[-4:-2], strides, dilations)
    n, out_h, out_w, kh, kw, channels = patches.shape
    filters = kernel.shape[-1]
    if groups == 1:
        out = np.matmul(patches.reshape(n, out_h * out_w, -1), kernel.reshape(kernel.shape[:-4] + (-1, filters)))
        return out.reshape(n, out_h, out_w, filters)
    columns = patches.reshape(n, out_h * out_w, kh, kw, groups, channels // groups).transpose(0, 4, 1, 2, 3, 5)
    matrices = kernel.reshape(-1, groups, filters // groups).transpose(1, 0, 2)
    out = np.matmul(columns.reshape(n, groups, out_h * out_w, -1), matrices)
    return out.transpose(0, 2, 1, 3).reshape(n, out_h, out_w, filters)
