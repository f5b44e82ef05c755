"""Read a Keras 2 SavedModel directory (`model.save(dir)`, TensorFlow 2.3 - 2.15) without loading it.

Loading such a directory with today's TensorFlow fails for models saved with optimizer state, and a user
cannot go back to the environment that wrote it. Everything needed is in the files themselves:
- the model config, as JSON in each Keras object's metadata: in `keras_metadata.pb` (TensorFlow 2.5 and
  later) or in `saved_model.pb`'s object graph (TensorFlow 2.3 and 2.4);
- each layer's variables: its children `kernel` / `bias` in the object graph, whose values the checkpoint
  under variables/ stores (the checkpoint's object graph has the same node ids).
"""

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class KerasSavedModel:
    tensorflow_version: str
    model_config: dict  # {"class_name": ..., "config": ...}, as in an .h5 file's model_config
    layer_nodes: dict  # Keras layer name -> node id in the object graph
    path: Path
    keras_version: str = ""

    def layer_arrays(self, layer_names: list) -> dict:
        """{layer name: {variable name: array}} (kernel, bias, gamma, moving_mean, ...: the variables each layer
        has), read from the checkpoint; a layer whose variables are its sublayers' (a recurrent layer's cell): the
        list of its arrays in get_weights() order."""
        import tensorflow as tf
        from tensorflow.core.protobuf import trackable_object_graph_pb2

        reader = tf.train.load_checkpoint(str(self.path / "variables" / "variables"))
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
        found = {}
        for name in layer_names:
            node = graph.nodes[self.layer_nodes[name]] if name in self.layer_nodes else None
            children = {child.local_name: child.node_id for child in node.children} if node is not None else {}
            found[name] = {variable: reader.get_tensor(key) for variable, node_id in children.items()
                           for key in [_value_key(graph.nodes[node_id])] if key} or _in_order(graph, children, reader)
        return found


def _in_order(graph, children: dict, reader) -> list:
    """The arrays of a layer whose variables are its sublayers' (a recurrent layer's cell, a Bidirectional's two
    layers), in get_weights() order: its `variables` list."""
    if "variables" not in children:
        return []
    listed = sorted(graph.nodes[children["variables"]].children, key=lambda child: int(child.local_name))
    return [reader.get_tensor(key) for child in listed for key in [_value_key(graph.nodes[child.node_id])] if key]


def _value_key(node) -> str:
    """The checkpoint key of a variable's value ("" for a child that is no variable)."""
    return next((a.checkpoint_key for a in node.attributes if a.name == "VARIABLE_VALUE"), "")


def read_keras_savedmodel(path: Path) -> "KerasSavedModel | None":
    """The Keras model in a SavedModel directory, or None if Keras did not write it (e.g. `model.export`)."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    meta_graph = saved_model.meta_graphs[0]
    version = meta_graph.meta_info_def.tensorflow_version
    if (path / "keras_metadata.pb").exists():
        metadata = {node_id: text for node_id, text in _saved_metadata_nodes((path / "keras_metadata.pb").read_bytes())}
    else:
        metadata = {index: node.user_object.metadata for index, node in enumerate(meta_graph.object_graph_def.nodes)
                    if node.WhichOneof("kind") == "user_object" and node.user_object.metadata}
    if 0 not in metadata:
        return None
    objects = {node_id: json.loads(text, object_hook=_untuple) for node_id, text in metadata.items()}
    root = objects[0]
    if "config" not in root or "class_name" not in root:
        return None
    layer_nodes = {}
    for node_id, data in sorted(objects.items()):
        if node_id != 0 and isinstance(data.get("name"), str):
            layer_nodes.setdefault(data["name"], node_id)
    return KerasSavedModel(version, {"class_name": root["class_name"], "config": root["config"]}, layer_nodes, path,
                           str(root.get("keras_version", "2")))


def _untuple(value: dict):
    """Keras' SavedModel metadata writes tuples as {"class_name": "__tuple__", "items": [...]}."""
    if value.get("class_name") == "__tuple__" and set(value) == {"class_name", "items"}:
        return tuple(value["items"])
    return value


def _saved_metadata_nodes(data: bytes) -> list:
    """[(node_id, metadata JSON)] of Keras' SavedMetadata proto: `repeated SavedObject nodes = 1` with
    `int32 node_id = 2` and `string metadata = 5` (decoded by hand: Keras 3 no longer ships the proto)."""
    nodes = []
    for field, value in _proto_fields(data):
        if field == 1:
            node = dict(_proto_fields(value))
            nodes.append((int(node.get(2, 0)), node.get(5, b"").decode("utf-8")))
    return nodes


def _proto_fields(data: bytes):
    """(field number, int or bytes) for each field of a protobuf message (varint and length-delimited only)."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(data, position)
        elif wire_type == 2:
            length, position = _varint(data, position)
            value, position = data[position:position + length], position + length
        elif wire_type == 5:
            value, position = data[position:position + 4], position + 4
        elif wire_type == 1:
            value, position = data[position:position + 8], position + 8
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
        yield field, value


def _varint(data: bytes, position: int) -> tuple:
    result, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7
