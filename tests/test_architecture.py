from agent_runtime.architecture import Architecture, ConvSpec, PoolSpec
from builder.describe import n_params
from builder.keras_config import architecture_from_config
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


def test_config_of_max_pool_dueling_variant_is_read():
    model = notebook_model(max_pool=True, dueling=True, dense_units=(256, 128))
    arch, roles = architecture_from_config({"class_name": "Functional", "config": model.get_config()})
    assert arch.dueling and arch.dense_units == (256, 128) and arch.n_actions == 19
    assert all(conv.pool == PoolSpec((2, 2), (2, 2), "same") for conv in arch.convs)
    assert n_params(arch) == model.count_params()
    assert roles["value"] != roles["advantage"] and roles["conv2_frame_3"] == "conv2_frame_3"
