"""The SplitterConvNN as data: the notebook's defaults, its JSON, and its graph, which is the same network gfsub
reads from the model's own config."""

import numpy as np

from agent_runtime.graph import GraphModel
from builder.describe import n_params
from builder.keras.splitter import Architecture, ConvSpec, PoolSpec, splitter_graph
from builder.keras.weight_order import candidate_orders
from tests.helpers import graph_model
from tests.user_model import notebook_model


def test_default_is_the_notebook_network():
    arch = Architecture()
    model = notebook_model()
    assert n_params(arch) == model.count_params() == 7_271_219
    assert [tuple(w.shape) for w in model.get_weights()] == [
        tuple(shape) for _, shapes in arch.layer_shapes() for shape in shapes]


def test_json_round_trip_with_pooling_and_dueling():
    arch = Architecture(convs=(ConvSpec(16, (8, 8), (4, 4), pool=PoolSpec((2, 2), (2, 2), "same")),),
                        dense_units=(128,), dueling=True)
    assert Architecture.from_dict(arch.to_dict()) == arch


def test_the_splitter_graph_is_the_network_the_models_own_config_describes(tmp_path):
    """gfsub's SplitterConvNN graph (for weights-only files) and the graph read from the saved model's config give
    the same values, for the max-pool dueling variant too."""
    model = notebook_model(seed=3, max_pool=True, dueling=True, dense_units=(256, 128))
    arch = Architecture(convs=tuple(ConvSpec(f, (k, k), (s, s), pool=PoolSpec((2, 2), (2, 2), "same"))
                                    for f, k, s in ((16, 8, 4), (24, 4, 2), (32, 3, 1))),
                        dense_units=(256, 128), dueling=True)
    assert n_params(arch) == model.count_params()
    names = [name for name, _ in candidate_orders(arch)[0]]
    ours = GraphModel(splitter_graph(arch).as_data(), list(zip(names, model.get_weights(), strict=True)))
    read = graph_model(model, tmp_path)
    x = np.random.default_rng(0).choice([-1.0, 0.0, 1.0], size=(3, 72, 96, 4), p=[0.05, 0.9, 0.05])
    x = x.astype(np.float32)
    np.testing.assert_allclose(ours([x]), read([x]), atol=1e-5)
    np.testing.assert_allclose(ours([x]), np.asarray(model.predict_on_batch(x)), atol=1e-4)
