"""Keras' recurrent layers (LSTM, GRU, SimpleRNN, and a Bidirectional wrapper of one), one small numpy function each:
`op(node, inputs, weights)`, as in layers.py.

A node reads the sequence (N, T, features), then the initial states the model passes it (`initial_state`), if any;
its value is the layer's output list, [output, h] ([output, h, c] for an LSTM), whether the layer returns its states
or not (without return_state a model reads output 0 alone). Its arrays are Keras' own: kernel (features, gates x
units), recurrent_kernel (units, gates x units) and bias, the gates in Keras' order (LSTM i, f, c, o; GRU z, r, h).
A GRU with reset_after (TensorFlow 2's and Keras 3's default) has an input and a recurrent bias, (2, 3 x units), and
applies the reset gate to the recurrent product; without it, one bias, and the reset gate before the product.
Python 3.7 / numpy 1.16 code, embedded verbatim in main.py.
"""

import numpy as np

from agent_runtime.activations import activate

STATE_COUNTS = {"lstm": 2, "gru": 1, "simple_rnn": 1}  # the states each cell carries: h, and an LSTM's c


def gate_columns(z, count):
    """The `count` equal column blocks of z (N, count x units), one per gate."""
    units = z.shape[-1] // count
    return [z[:, k * units:(k + 1) * units] for k in range(count)]


def lstm_cell(layer, x_t, states, recurrent_kernel, recurrent_bias):
    """One LSTM step, from x_t already through the kernel and the bias: -> [h, c]."""
    h, c = states
    i, f, g, o = gate_columns(x_t + np.matmul(h, recurrent_kernel), 4)
    gate, act = layer["recurrent_activation"], layer["activation"]
    c = activate(f, gate) * c + activate(i, gate) * activate(g, act)
    return [activate(o, gate) * activate(c, act), c]


def gru_cell(layer, x_t, states, recurrent_kernel, recurrent_bias):
    """One GRU step (reset gate after the recurrent product or before it): -> [h]."""
    h = states[0]
    units = h.shape[-1]
    x_z, x_r, x_h = gate_columns(x_t, 3)
    gate, act = layer["recurrent_activation"], layer["activation"]
    if layer["reset_after"]:
        inner = np.matmul(h, recurrent_kernel)
        if recurrent_bias is not None:
            inner = inner + recurrent_bias
        h_z, h_r, h_h = gate_columns(inner, 3)
        z, r = activate(x_z + h_z, gate), activate(x_r + h_r, gate)
        candidate = activate(x_h + r * h_h, act)
    else:
        inner = np.matmul(h, recurrent_kernel[:, :2 * units])
        z, r = activate(x_z + inner[:, :units], gate), activate(x_r + inner[:, units:], gate)
        candidate = activate(x_h + np.matmul(r * h, recurrent_kernel[:, 2 * units:]), act)
    return [z * h + (np.float32(1.0) - z) * candidate]


def simple_rnn_cell(layer, x_t, states, recurrent_kernel, recurrent_bias):
    """One SimpleRNN step: -> [h]."""
    return [activate(x_t + np.matmul(states[0], recurrent_kernel), layer["activation"])]


CELLS = {"lstm": lstm_cell, "gru": gru_cell, "simple_rnn": simple_rnn_cell}


def run_recurrent(layer, x, initial, weights):
    """[output, *final states] of one recurrent layer (settings `layer`) on x (N, T, features), from the initial
    states given (else zeros). go_backwards reads the steps last to first, and its sequence stays in that order."""
    kernel, recurrent_kernel = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    recurrent_bias = None
    if bias is not None and bias.ndim == 2:  # a GRU with reset_after: the input bias, then the recurrent one
        bias, recurrent_bias = bias[0], bias[1]
    projected = np.matmul(x, kernel)
    if bias is not None:
        projected = projected + bias
    states = list(initial)
    if not states:
        states = [np.zeros((x.shape[0], layer["units"]), dtype=x.dtype)] * STATE_COUNTS[layer["cell"]]
    cell = CELLS[layer["cell"]]
    steps = range(x.shape[1] - 1, -1, -1) if layer.get("go_backwards") else range(x.shape[1])
    outputs = []
    for t in steps:
        states = cell(layer, projected[:, t], states, recurrent_kernel, recurrent_bias)
        outputs.append(states[0])
    output = np.stack(outputs, axis=1) if layer["return_sequences"] else outputs[-1]
    return [output] + states


def recurrent_layer(node, inputs, weights):
    """Keras' LSTM, GRU or SimpleRNN (node["cell"]): -> [output, *its final states]."""
    return run_recurrent(node, inputs[0], inputs[1:], weights)


def merge_directions(mode, ahead, behind):
    """A Bidirectional's merge of its forward and backward outputs."""
    if mode == "concat":
        return np.concatenate([ahead, behind], axis=-1)
    if mode == "sum":
        return ahead + behind
    if mode == "mul":
        return ahead * behind
    return (ahead + behind) / np.float32(2.0)  # "ave"


def bidirectional_layer(node, inputs, weights):
    """Keras' Bidirectional: its forward and backward layers on the same sequence (the backward one's sequence turned
    back to the input's order), merged; -> [output, *forward final states, *backward final states]. Initial states
    and arrays are the forward layer's, then the backward one's."""
    forward, backward = node["forward"], node["backward"]
    half = (len(inputs) - 1) // 2
    count = 3 if forward["use_bias"] else 2
    ahead = run_recurrent(forward, inputs[0], inputs[1:1 + half], weights[:count])
    behind = run_recurrent(backward, inputs[0], inputs[1 + half:], weights[count:])
    reversed_output = behind[0][:, ::-1] if node["return_sequences"] else behind[0]
    return [merge_directions(node["merge_mode"], ahead[0], reversed_output)] + ahead[1:] + behind[1:]


RECURRENT_LAYERS = {"recurrent": recurrent_layer, "bidirectional": bidirectional_layer}
