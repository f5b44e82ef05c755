"""Write a full-model HDF5 in the layout TF 2.3 / Keras 2.4 produced in 2020 (Keras 3 cannot write it).

Layout: attrs model_config (Keras 2 JSON: batch_input_shape, inbound_nodes [[[name, node, index, {}]]]),
keras_version, backend; group model_weights with attr layer_names; per layer attr weight_names
("fc1/kernel:0") and datasets model_weights/<layer>/<layer>/kernel:0.
"""

import json

import h5py
import keras
import numpy as np


def _keras2_layer(layer_config: dict) -> dict:
    config = dict(layer_config["config"])
    if "batch_shape" in config:
        config["batch_input_shape"] = config.pop("batch_shape")
    if isinstance(config.get("dtype"), dict):
        config["dtype"] = "float32"
    nodes = []
    for node in layer_config.get("inbound_nodes", []):
        inputs: list = []
        _collect_history(node["args"], inputs)
        nodes.append(inputs)
    return {"class_name": layer_config["class_name"], "config": config, "name": config["name"], "inbound_nodes": nodes}


def _collect_history(item, inputs: list) -> None:
    """Keras 3 {keras_history: [name, node, index]} -> Keras 2 [name, node, index, {}]."""
    if isinstance(item, dict) and "keras_history" in item.get("config", {}):
        name, node_index, tensor_index = item["config"]["keras_history"]
        inputs.append([name, node_index, tensor_index, {}])
    elif isinstance(item, (list, tuple)):
        for value in item:
            _collect_history(value, inputs)


def save_keras2_h5(model: keras.Model, path) -> None:
    config = model.get_config()
    layers = [_keras2_layer(layer) for layer in config["layers"]]
    model_config = {"class_name": "Functional", "config": {
        "name": config["name"], "layers": layers,
        "input_layers": [[layers[0]["name"], 0, 0]], "output_layers": [[layers[-1]["name"], 0, 0]]}}
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(model_config).encode()
        handle.attrs["keras_version"] = b"2.4.0"
        handle.attrs["backend"] = b"tensorflow"
        weights = handle.create_group("model_weights")
        weights.attrs["layer_names"] = np.array([layer.name.encode() for layer in model.layers])
        for layer in model.layers:
            group = weights.create_group(layer.name)
            names = [f"{layer.name}/{variable.name}:0".encode() for variable in layer.weights]
            group.attrs["weight_names"] = np.array(names)
            for name, variable in zip(names, layer.weights, strict=True):
                group.create_dataset(name.decode(), data=np.asarray(variable.numpy()))
