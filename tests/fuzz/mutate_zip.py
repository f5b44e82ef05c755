"""Mutations of a zip archive (.keras, .npz, .pt2) and of the .npy members of an .npz.

The archive is rewritten whole (every CRC right) with one member deleted, renamed, duplicated or changed (by a
mutator of its own kind: JSON, HDF5, .npy, bytes), or with a zip bomb: a member of 64 MB of zeros, or a member
whose declared size says 4 GB.
"""

import ast
import io
import random
import struct
import zipfile

from tests.fuzz.mutate_bytes import Skip, random_bytes

BOMB_BYTES = 64 << 20  # over the 16 MiB from which the ratio is bounded, deflated 1000:1
CENTRAL_SIGNATURE = b"PK\x01\x02"


def members(data: bytes) -> list:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [(info, archive.read(info)) for info in archive.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise Skip from None


def pack(entries: list) -> bytes:
    """A zip of (info or name, bytes) entries, each compressed as its info says (stored for a bare name)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, content in entries:
            name = info if isinstance(info, str) else info.filename
            kind = zipfile.ZIP_STORED if isinstance(info, str) else info.compress_type
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), content, compress_type=kind)
    return buffer.getvalue()


def delete_member(rng: random.Random, data: bytes) -> tuple:
    entries = members(data)
    gone = entries.pop(rng.randrange(len(entries)))
    return pack(entries), f"member {gone[0].filename} deleted"


def rename_member(rng: random.Random, data: bytes) -> tuple:
    entries = members(data)
    index = rng.randrange(len(entries))
    old = entries[index][0].filename
    new = rng.choice([name for name in (old + ".bak", old.upper(), old.replace("/", "_"), "../" + old,
                                        old[:-1] or "x") if name != old])
    entries[index] = (new, entries[index][1])
    return pack(entries), f"member {old} renamed {new}"


def duplicate_member(rng: random.Random, data: bytes) -> tuple:
    entries = members(data)
    info, content = rng.choice(entries)
    changed, what = random_bytes(rng, content)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate name, which is the point
        return pack(entries + [(info.filename, changed)]), f"member {info.filename} twice, the second {what}"


def member_changed(rng: random.Random, data: bytes, by_suffix: dict) -> tuple:
    """One member changed by the mutator for its name's ending (`by_suffix`: ending -> mutator), else bytes."""
    entries = members(data)
    index = rng.randrange(len(entries))
    info, content = entries[index]
    mutate = next((fn for suffix, fn in by_suffix.items() if info.filename.endswith(suffix)), random_bytes)
    try:
        changed, what = mutate(rng, content)
    except Skip:
        changed, what = random_bytes(rng, content)
    entries[index] = (info, changed)
    return pack(entries), f"member {info.filename}: {what}"


def bomb(rng: random.Random, data: bytes) -> tuple:
    """A member (new, or in place of one) of 64 MB of zeros, deflated to 64 KB."""
    entries = members(data)
    index = rng.randrange(len(entries) + 1)
    name = entries[index][0].filename if index < len(entries) else "bomb.npy"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, content in entries[:index]:
            archive.writestr(info, content)
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as member:
            zeros = bytes(1 << 20)
            for _ in range(BOMB_BYTES >> 20):
                member.write(zeros)
        for info, content in entries[index + 1:]:
            archive.writestr(info, content)
    return buffer.getvalue(), f"member {name}: a zip bomb of {BOMB_BYTES >> 20} MB of zeros"


def declared_size(rng: random.Random, data: bytes) -> tuple:
    """A central directory entry whose uncompressed (or compressed) size says what the data is not."""
    starts = [i for i in range(len(data)) if data.startswith(CENTRAL_SIGNATURE, i)]
    if not starts:
        raise Skip
    at = rng.choice(starts)
    field, name = rng.choice(((24, "uncompressed"), (20, "compressed")))
    value = rng.choice((0xFFFFFFFE, 0x7FFFFFFF, 1, 0))
    patched = data[:at + field] + struct.pack("<I", value) + data[at + field + 4:]
    return patched, f"central directory: {name} size declared {value}"


def zip_mutators(by_suffix: dict) -> tuple:
    """The archive mutators, with members changed by `by_suffix`'s mutators."""

    def member(rng: random.Random, data: bytes) -> tuple:
        return member_changed(rng, data, by_suffix)

    return (delete_member, rename_member, duplicate_member, member, member, member, member, bomb, declared_size)


# ----- .npy members -------------------------------------------------------------------------------------------
NPY_DTYPES = ("|O", "<c8", "|S4", "<U2", "|V4", ">f4", "<f2", "<i8", "|b1", "<M8[s]", "[('a', '<f4')]", "<f16")


def npy_header(content: bytes) -> tuple:
    """(header dict, header end) of a .npy file."""
    if not content.startswith(b"\x93NUMPY") or len(content) < 10:
        raise Skip
    major = content[6]
    size_bytes, fmt = (2, "<H") if major == 1 else (4, "<I")
    length = struct.unpack(fmt, content[8:8 + size_bytes])[0]
    end = 8 + size_bytes + length
    try:
        return ast.literal_eval(content[8 + size_bytes:end].decode("latin-1")), end
    except (ValueError, SyntaxError):
        raise Skip from None


def npy_with(header: dict, body: bytes, raw: "str | None" = None) -> bytes:
    text = (raw if raw is not None else repr(header)).encode("latin-1")
    padding = 64 - (10 + len(text) + 1) % 64
    text = text + b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + body


def npy_mutation(rng: random.Random, content: bytes) -> tuple:
    header, end = npy_header(content)
    body = content[end:]
    choice = rng.randrange(4)
    if choice == 0:
        shape = tuple(header["shape"])
        header["shape"] = rng.choice(((shape[0] * 10 ** 6,) + shape[1:] if shape else (10 ** 6,), (2 ** 62,),
                                      (-1,) + shape[1:], (10 ** 5, 10 ** 5), shape + (1, 1), ()))
        return npy_with(header, body), f".npy shape {shape} -> {header['shape']}"
    if choice == 1:
        header["descr"] = rng.choice(NPY_DTYPES)
        return npy_with(header, body), f".npy dtype -> {header['descr']}"
    if choice == 2:
        header["fortran_order"] = not header["fortran_order"]
        return npy_with(header, body), ".npy fortran_order flipped"
    raw = rng.choice(("{'descr': '<f4'}", "__import__('os')", "{" * 1000, "{'descr': '<f4', 'fortran_order': False, "
                      "'shape': (1e400,)}", "[]"))
    return npy_with(header, body, raw), f".npy header {raw[:30]!r}"
