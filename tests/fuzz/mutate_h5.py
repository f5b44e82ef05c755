"""Mutations of an HDF5 file (.h5, .weights.h5, a .keras archive's model.weights.h5), made with h5py itself.

A dataset or group deleted or renamed; a dataset replaced by one of another dtype, of a shape inflated by 10^6 (or
of 2^27 values) that the file does not store, a scalar, an empty one; a group linked into itself; a link or data
in another file; an attribute (the model config, weight_names, layer_names) changed.
"""

import io
import random

import h5py
import numpy as np

from tests.fuzz.mutate_bytes import Skip
from tests.fuzz.mutate_json import random_json

WRONG_DTYPES = ("S8", "complex64", "int64", "bool", "float16", "compound", "vlen-str", "reference", "uint8")


def _edited(data: bytes, edit) -> tuple:
    """`edit(file)` -> what it did, applied to a copy of `data`."""
    buffer = io.BytesIO(data)
    try:
        with h5py.File(buffer, "r+") as handle:
            what = edit(handle)
    except (OSError, KeyError, ValueError, TypeError, RuntimeError):
        raise Skip from None
    return buffer.getvalue(), what


def _names(handle, kind) -> list:
    found = []
    handle.visititems(lambda name, item: found.append(name) if isinstance(item, kind) else None)
    if not found:
        raise Skip
    return sorted(found)


def delete_object(rng: random.Random, data: bytes) -> tuple:
    def edit(handle) -> str:
        name = rng.choice(_names(handle, (h5py.Dataset, h5py.Group)))
        del handle[name]
        return f"HDF5 {name} deleted"

    return _edited(data, edit)


def rename_object(rng: random.Random, data: bytes) -> tuple:
    def edit(handle) -> str:
        name = rng.choice(_names(handle, (h5py.Dataset, h5py.Group)))
        parent, _, leaf = name.rpartition("/")
        new = f"{parent}/{rng.choice((leaf + '_x', leaf.upper(), '9', 'vars'))}".lstrip("/")
        if new in handle:
            raise Skip
        handle.move(name, new)
        return f"HDF5 {name} renamed {new}"

    return _edited(data, edit)


def _replace(handle, name: str, **kwargs) -> None:
    del handle[name]
    handle.create_dataset(name, **kwargs)


def wrong_dtype(rng: random.Random, data: bytes) -> tuple:
    def edit(handle) -> str:
        name = rng.choice(_names(handle, h5py.Dataset))
        shape, kind = handle[name].shape, rng.choice(WRONG_DTYPES)
        _replace(handle, name, **_dataset_of(kind, shape, handle))
        return f"HDF5 {name} as {kind}"

    return _edited(data, edit)


def _dataset_of(kind: str, shape: tuple, handle) -> dict:
    count = int(np.prod(shape)) if shape else 1
    if kind == "compound":
        return {"data": np.zeros(shape, dtype=[("a", "<f4"), ("b", "<i4")])}
    if kind == "vlen-str":
        return {"shape": shape, "dtype": h5py.string_dtype()}
    if kind == "reference":
        return {"data": np.array([handle.ref] * count, dtype=h5py.ref_dtype).reshape(shape)}
    return {"data": np.zeros(shape, dtype=kind)}


def inflated_shape(rng: random.Random, data: bytes) -> tuple:
    """A dataset declared 10^6 times larger (or of 2^27 float32s, 512 MB), not stored: its chunks unallocated."""
    def edit(handle) -> str:
        name = rng.choice(_names(handle, h5py.Dataset))
        shape = handle[name].shape or (1,)
        new = rng.choice(((shape[0] * 10 ** 6,) + shape[1:], (2 ** 27,), (2 ** 20, 2 ** 20)))
        _replace(handle, name, shape=new, dtype="float32", chunks=tuple(min(s, 64) for s in new))
        return f"HDF5 {name} declared {new}, not stored"

    return _edited(data, edit)


def odd_shape(rng: random.Random, data: bytes) -> tuple:
    def edit(handle) -> str:
        name = rng.choice(_names(handle, h5py.Dataset))
        kind = rng.randrange(3)
        if kind == 0:
            _replace(handle, name, data=np.float32(1.5))
        elif kind == 1:
            _replace(handle, name, data=h5py.Empty("f4"))
        else:
            _replace(handle, name, data=np.zeros((0,) + handle[name].shape, dtype="f4"))
        return f"HDF5 {name} as {('a scalar', 'an empty dataspace', 'zero-length')[kind]}"

    return _edited(data, edit)


def self_link(rng: random.Random, data: bytes) -> tuple:
    """A hard link from a group to itself or an ancestor, under a name a reader descends into."""
    def edit(handle) -> str:
        name = rng.choice(_names(handle, h5py.Group))
        target = rng.choice([name, name.rpartition("/")[0] or "/"])
        link = rng.choice(("cell", "vars", "layers", "forward_layer", "model_weights"))
        if link in handle[name]:
            raise Skip
        handle[name][link] = handle[target]
        return f"HDF5 {name}/{link} linked to {target}"

    return _edited(data, edit)


def links_out(rng: random.Random, data: bytes) -> tuple:
    """A dataset replaced by a dangling link, a link into another file, or data stored in another file."""
    def edit(handle) -> str:
        name = rng.choice(_names(handle, h5py.Dataset))
        shape, kind = handle[name].shape, rng.randrange(3)
        del handle[name]
        if kind == 2:
            handle.create_dataset(name, shape=shape, dtype="f4", external=[("/etc/hostname", 0, h5py.h5f.UNLIMITED)])
        else:
            handle[name] = h5py.SoftLink("/nowhere") if kind == 0 else h5py.ExternalLink("/etc/passwd", "/")
        return f"HDF5 {name} {('a dangling link', 'a link into /etc/passwd', 'stored in /etc/hostname')[kind]}"

    return _edited(data, edit)


def attribute(rng: random.Random, data: bytes) -> tuple:
    """An attribute changed: a JSON one by a JSON mutation, a list one shortened or retyped, any one deleted."""
    def edit(handle) -> str:
        places = [(handle, key) for key in handle.attrs]
        handle.visititems(lambda name, item: places.extend((item, key) for key in item.attrs))
        if not places:
            raise Skip
        owner, key = rng.choice(places)
        return f"HDF5 {owner.name} attribute {key}: " + _changed_attribute(rng, owner.attrs, key)

    return _edited(data, edit)


def _changed_attribute(rng: random.Random, attrs, key: str) -> str:
    value = attrs[key]
    text = value.decode() if isinstance(value, bytes) else value
    if isinstance(text, str) and text.lstrip().startswith("{"):
        attrs[key], what = random_json(rng, text.encode())
        return what
    choice = rng.randrange(4)
    if choice == 0:
        del attrs[key]
        return "deleted"
    if choice == 1 and np.ndim(value) == 1 and len(value):
        attrs[key] = value[: rng.randrange(len(value))] if rng.random() < 0.5 else np.concatenate([value, value[:1]])
        return "shortened or lengthened"
    attrs[key] = rng.choice((np.arange(3), np.float64(1.0), b"\xff\xfe", np.array([b"nope"] * 3)))
    return "retyped"


H5_MUTATORS = (delete_object, rename_object, wrong_dtype, inflated_shape, odd_shape, self_link, links_out,
               attribute, attribute)


def random_h5(rng: random.Random, data: bytes) -> tuple:
    return rng.choice(H5_MUTATORS)(rng, data)
