import numpy as np
import pytest

from agent_runtime.codec import WeightBlobError, decode_weights, encode_weights


def _arrays():
    rng = np.random.default_rng(3)
    return [("a/kernel", rng.normal(size=(3, 4, 1, 2)).astype(np.float32)), ("a/bias", rng.normal(size=(2,)))]


def test_round_trip_is_exact_for_float32():
    manifest, blob = encode_weights(_arrays())
    decoded = decode_weights(manifest, blob)
    assert [name for name, _ in decoded] == ["a/kernel", "a/bias"]
    for (_, want), (_, got) in zip(_arrays(), decoded, strict=True):
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_manifest_is_plain_json_data_little_endian():
    manifest, blob = encode_weights(_arrays())
    assert all(entry["dtype"] == "<f4" for entry in manifest["arrays"])
    assert manifest["n_bytes"] == (3 * 4 * 2 + 2) * 4
    assert blob.isascii() and "pickle" not in blob


def test_tampered_blob_is_refused():
    manifest, blob = encode_weights(_arrays())
    middle = len(blob) // 2
    tampered = blob[:middle] + ("A" if blob[middle] != "A" else "B") + blob[middle + 1:]
    with pytest.raises(WeightBlobError):
        decode_weights(manifest, tampered)
    with pytest.raises(WeightBlobError):
        decode_weights({**manifest, "sha256": "0" * 64}, blob)
