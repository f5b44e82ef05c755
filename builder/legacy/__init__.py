"""The legacy front door: weights from the 2020 era's own files, an old hand-written main.py with its weights embedded
(python_source.py, parsed, never run) and `zlib.compress(pickle.dumps(model.get_weights()))` pickles (pickles.py,
through an arrays-only unpickler).

Both carry arrays in get_weights() order and no architecture: the graph comes from --arch or from the weight shapes
(builder/keras/shapes.py), and ends in model_graph's Graph like every front door's.
"""
