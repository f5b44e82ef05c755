"""The Keras front door: a saved Keras model (.keras, full-model .h5, a Keras 2 SavedModel directory; Keras 2 or 3,
Functional or Sequential) or Keras weights (.weights.h5, get_weights() arrays) -> gfsub's layer graph.

A model's config is read as data, never deserialised (calls.py, layers.py, ops.py -> graph.py); a SavedModel from its
files (savedmodel.py); the file formats by files.py. Weights without a config are the notebook's SplitterConvNN, its
architecture inferred from the weight shapes (splitter.py, shapes.py, weight_order.py). Every path ends in
model_graph's Graph, like the other front doors. Importing this package imports no TensorFlow, Keras or h5py.
"""
