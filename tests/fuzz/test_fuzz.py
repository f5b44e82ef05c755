"""No file crashes gfsub (issue 27): seeded mutations of real files of every format gfsub reads.

Each mutation runs in a process of its own (tests/fuzz/server.py forks one per mutation from a process that has
imported gfsub once), as `gfsub build` runs it minus the verification: the CLI's handler, its quiet terminal, load,
validate, render, write. It must end in exit 0 with main.py written, or exit 2 with one line naming an input file;
never exit 3, a traceback, a signal, more than 60 s, 2 GB, or anything left at the output when it fails. A few that
load are then built by the real CLI with `--verify-steps 5 --target kaggle-2026` (or replayed: an episode). The
long mode: scripts/fuzz.py (docs/benchmarks/fuzz.md). Below, each limit of builder/limits.py once, by a file made
to break it: one line naming the file, the field and the limit.
"""

import importlib.util

import pytest

from tests.fuzz.formats import FORMATS, make_seeds
from tests.fuzz.harness import fuzz_format
from tests.shared import made_once

pytestmark = pytest.mark.engine  # the episode seed is a real match; the verified builds play the engine

# Mutations per format in `make test`, and of those that load, how many are built in full with verification. A
# .pt2 server first exports the seed with torch (20 s) and each .pt2 that loads is exported again (4 s): fewer.
COUNTS = dict.fromkeys(FORMATS, 30) | {"pt2": 8}
VERIFIED = {"keras": 1, "onnx": 1}


@pytest.fixture(scope="session")
def fuzz_seeds(tmp_path_factory):
    return made_once(tmp_path_factory, "fuzz-seeds", make_seeds)


NEEDS = {"pt2": "torch"}  # a format read with a package that `make test` installs but gfsub does not need


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.skipif(
    name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None, reason=f"{NEEDS.get(name)} is not installed"))
    for name in FORMATS])
def test_no_mutated_file_crashes_gfsub(name, fuzz_seeds, tmp_path):
    outcomes = fuzz_format(name, fuzz_seeds, tmp_path, COUNTS[name], VERIFIED.get(name, 0))
    failures = [outcome.report() for outcome in outcomes if outcome.problems()]
    assert not failures, f"{len(failures)} of {len(outcomes)} mutations of {name} failed:\n" + "\n".join(failures)
    loaded = sum(1 for outcome in outcomes if outcome.status == 0 and not outcome.full)
    assert sum(1 for outcome in outcomes if outcome.full) == min(VERIFIED.get(name, 0), loaded)


# ----- each limit, once, by name ------------------------------------------------------------------------------
def _zip_with(seed, member: str, content: bytes, deflated: bool = False) -> bytes:
    """The seed archive with one member's content replaced."""
    import io
    import zipfile

    from tests.fuzz.mutate_zip import members

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in members(seed.read_bytes()):
            kind = zipfile.ZIP_DEFLATED if deflated and info.filename == member else zipfile.ZIP_STORED
            archive.writestr(info.filename, content if info.filename == member else data, compress_type=kind)
    return buffer.getvalue()


def _keras_bomb(seeds, path):
    path.write_bytes(_zip_with(seeds / "m.keras", "config.json", bytes(64 << 20), deflated=True))


def _keras_declared_4gb(seeds, path):
    data = (seeds / "m.keras").read_bytes()
    at = data.index(b"PK\x01\x02")  # the first central directory entry; its uncompressed size at +24
    path.write_bytes(data[:at + 24] + (0xFFFFFFFE).to_bytes(4, "little") + data[at + 28:])


def _h5_dataset(shape, **kwargs):
    def make(seeds, path):
        import shutil

        import h5py

        shutil.copy(seeds / "m.weights.h5", path)
        with h5py.File(path, "r+") as handle:
            del handle["layers/dense/vars/0"]
            handle.create_dataset("layers/dense/vars/0", shape=shape, dtype="f4", **kwargs)
    return make


def _h5_deep_config(seeds, path):
    import shutil

    import h5py

    shutil.copy(seeds / "m.h5", path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["model_config"] = "[" * 100_000 + "]" * 100_000


def _npz_inflated(seeds, path):
    from tests.fuzz.mutate_zip import members, npy_header, npy_with

    first = members((seeds / "w.npz").read_bytes())[0]
    header, end = npy_header(first[1])
    header["shape"] = (2 ** 30,)
    path.write_bytes(_zip_with(seeds / "w.npz", first[0].filename, npy_with(header, first[1][end:])))


def _pickle(payload_of):
    def make(seeds, path):
        import pickle
        import zlib

        arrays = pickle.loads(zlib.decompress((seeds / "w.zlib").read_bytes()))
        path.write_bytes(zlib.compress(payload_of(arrays), 9))
    return make


def _reconstruct_2_33(arrays) -> bytes:
    import pickle

    from tests.fuzz.mutate_pickle import Crafted

    reduced = arrays[0].__reduce__()
    return pickle.dumps([Crafted((reduced[0], (reduced[1][0], (2 ** 33,), b"b"), reduced[2]))], protocol=2)


def _onnx(mutate):
    def make(seeds, path):
        import onnx

        model = onnx.load(str(seeds / "mlp_mask_ts13.onnx"))
        path.write_bytes(mutate(model))
    return make


def _onnx_inflated(model) -> bytes:
    tensor = model.graph.initializer[0]
    tensor.dims[0] *= 10 ** 6
    return model.SerializeToString()


def _onnx_deep(model) -> bytes:
    import random

    from tests.fuzz.mutate_onnx import deep_type

    return deep_type(random.Random(0), model.SerializeToString())[0]


def _episode_deep(seeds, path):
    text = (seeds / "episode.json").read_text()
    path.write_text(text.replace('"configuration": {', '"configuration": {"deep": ' + "[" * 100_000 + "]" * 100_000
                                 + ", ", 1))


LIMITS = {  # case: (file name, how it is made, the error it must be, what its line must say)
    "zip member over 16 MiB deflated over 100x": ("m.keras", _keras_bomb, "CorruptFileError",
                                                  "expands 65,", "limit of 100x"),
    "zip member declaring 4 GB": ("m.keras", _keras_declared_4gb, "ModelTooLargeError", "metadata.json",
                                  "limit of 2 GiB"),
    "HDF5 dataset of 2^30 values": ("m.weights.h5", _h5_dataset((2 ** 30,), chunks=(1024,)), "ModelTooLargeError",
                                    "layers/dense/vars/0", "limit of 2**28"),
    "HDF5 dataset declared, not stored": ("m.weights.h5", _h5_dataset((2 ** 27,), chunks=(1024,)), "CorruptFileError",
                                          "layers/dense/vars/0", "the file stores 0"),
    "HDF5 dataset stored in another file": ("m.weights.h5", _h5_dataset((19,), external=[("/etc/hostname", 0, 76)]),
                                            "CorruptFileError", "layers/dense/vars/0", "another file"),
    "HDF5 model config nested 10^5 deep": ("m.h5", _h5_deep_config, "CorruptFileError", "model_config",
                                           "limit of 100 levels"),
    ".npy header declaring 2^30 values": ("w.npz", _npz_inflated, "ModelTooLargeError", "arr_0.npy",
                                          "limit of 2**28"),
    "zlib bomb": ("w.zlib", _pickle(lambda arrays: bytes(64 << 20)), "CorruptFileError", "zlib", "limit of 100x"),
    "pickle _reconstruct of 2^33 bytes": ("w.zlib", _pickle(_reconstruct_2_33), "CorruptFileError",
                                          "shape (8589934592,)", "limit of 2**28"),
    "ONNX initializer inflated by 10^6": ("m.onnx", _onnx(_onnx_inflated), "ModelTooLargeError", "tensor '",
                                          "limit of 2**28"),
    "ONNX type nested 10^5 deep": ("m.onnx", _onnx(_onnx_deep), "CorruptFileError", "not a readable ONNX model",
                                   "DecodeError"),
    "episode JSON nested 10^5 deep": ("episode.json", _episode_deep, "EpisodeFileError", "its JSON",
                                      "limit of 100 levels"),
}


@pytest.mark.parametrize("case", list(LIMITS))
def test_each_limit_is_one_line_naming_the_file_the_field_and_the_limit(case, fuzz_seeds, tmp_path):
    from builder.load import load_weights
    from common.errors import GfsubError
    from harness.episode import read_episode

    name, make, error, field, limit = LIMITS[case]
    path = tmp_path / name
    make(fuzz_seeds, path)
    with pytest.raises(GfsubError) as raised:
        read_episode(path) if name.endswith(".json") else load_weights(path)
    assert type(raised.value).__name__ == error, raised.value.message
    assert raised.value.exit_code == 2 and "\n" not in raised.value.message
    assert raised.value.message.startswith(f"{path}: ") and field in raised.value.message, raised.value.message
    assert limit in raised.value.message, raised.value.message


def test_the_model_limit_counts_every_tensor(fuzz_seeds, monkeypatch):
    """2 GiB of weights in all: checked from the headers, tensor by tensor, before each is read."""
    import builder.limits
    from builder.load import load_weights
    from common.errors import ModelTooLargeError

    monkeypatch.setattr(builder.limits, "MAX_MODEL_BYTES", 100_000)  # the seed's 29k float32 weights: 117 kB
    with pytest.raises(ModelTooLargeError, match="at tensor '/layers/.*', over gfsub's limit of 97.7 KiB"):
        load_weights(fuzz_seeds / "m.weights.h5")
