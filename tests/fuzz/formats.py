"""Every format gfsub reads, its real seed files, and the mutations each gets.

Seeds are written at test time by the real writers: Keras 3 (a .keras, a full-model .h5 by its legacy HDF5 save, a
.weights.h5, an .npz and zlib pickles of get_weights(), an old main.py with the pickle embedded, the model's JSON
for --arch), torch's exporters (the ONNX and .pt2 files of tests/torch_families/files/), kaggle-environments (an
episode of a short real match), and the encoders of tests/torch_families.
"""

import base64
import json
import pickle
import random
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz import mutate_bytes as raw
from tests.fuzz.mutate_bytes import Skip
from tests.fuzz.mutate_h5 import H5_MUTATORS, random_h5
from tests.fuzz.mutate_json import JSON_MUTATORS, episode_part, random_json
from tests.fuzz.mutate_onnx import ONNX_MUTATORS
from tests.fuzz.mutate_pickle import PICKLE_MUTATORS, embedded
from tests.fuzz.mutate_zip import npy_mutation, zip_mutators
from tests.torch_families import FILES, write_encoder

BYTES = raw.BYTE_MUTATORS


@dataclass(frozen=True)
class Seed:
    """A seed file, the build's other arguments (files of the seeds folder) and the files that go beside it."""

    file: str
    options: dict = field(default_factory=dict)
    companions: tuple = ()


@dataclass(frozen=True)
class OnCompanion:
    """A mutator applied to the companion file whose name ends in `suffix` (an ONNX model's external data)."""

    suffix: str
    mutate: object


@dataclass(frozen=True)
class Format:
    name: str
    seeds: tuple
    mutators: tuple
    kind: str = "build"  # or "episode": what `gfsub replay` reads
    role: str = "model"  # the build argument the mutated file is: model, encoder or arch_file


def _keras_member(rng: random.Random, data: bytes) -> tuple:
    return random_h5(rng, data)


KERAS_ZIP = zip_mutators({".json": random_json, ".h5": _keras_member})
PT2_ZIP = zip_mutators({".json": random_json})
NPZ_ZIP = zip_mutators({".npy": npy_mutation})
PYTHON = raw.PYTHON_MUTATORS + BYTES
ONNX_SEEDS = (Seed("mlp_mask_ts13.onnx", {"encoder": "masked.py"}),
              Seed("lstm_dynamo.onnx", {"encoder": "plain.py"}, ("lstm_dynamo.onnx.data",)))

FORMATS = {format.name: format for format in (
    Format("keras", (Seed("m.keras"),), KERAS_ZIP + BYTES),
    Format("h5", (Seed("m.h5"),), H5_MUTATORS + BYTES),
    Format("weights.h5", (Seed("m.weights.h5"),), H5_MUTATORS + BYTES),
    Format("npz", (Seed("w.npz"),), NPZ_ZIP + BYTES),
    Format("pickle", (Seed("w.zlib"), Seed("w.b64.txt")), PICKLE_MUTATORS + BYTES),
    Format("python", (Seed("old_bytes.py"), Seed("old_base64.py")), PYTHON + (embedded,) * 6),
    Format("arch", (Seed("model.json", {"model": "m.weights.h5"}),), JSON_MUTATORS + BYTES, role="arch_file"),
    Format("onnx", ONNX_SEEDS, ONNX_MUTATORS + BYTES + (OnCompanion(".data", raw.truncate),)),
    Format("encoder", (Seed("masked.py", {"model": "mlp_mask_ts13.onnx"}),), PYTHON, role="encoder"),
    Format("episode", (Seed("episode.json"),), JSON_MUTATORS + (episode_part,) * 4 + BYTES, kind="episode"),
    Format("pt2", (Seed("lstm_dynamo.pt2", {"encoder": "plain.py"}),), PT2_ZIP + BYTES),
)}


# ----- seeds --------------------------------------------------------------------------------------------------
SMALL_CONVS = ((4, 3, 4), (4, 3, 2), (4, 3, 1))  # the notebook's network, narrow: 29k weights
OLD_MAIN_PY = ("import pickle\nimport zlib\n\nimport numpy as np\n\n{literal}\n\n\ndef agent(obs):\n"
               "    weights = pickle.loads(zlib.decompress(WEIGHTS))\n    return [0]\n")
EPISODE_STEPS = 12


def make_seeds(folder: Path) -> Path:
    """Every seed file, in `folder`."""
    _keras_seeds(folder)
    for name in ("mlp_mask_ts13.onnx", "lstm_dynamo.onnx", "lstm_dynamo.onnx.data", "lstm_dynamo.pt2"):
        shutil.copy(FILES / name, folder / name)
    write_encoder(folder, "masked")
    write_encoder(folder, "plain")
    _episode(folder / "episode.json")
    return folder


def _keras_seeds(folder: Path) -> None:
    import numpy as np

    from tests.user_model import notebook_model

    model = notebook_model(seed=5, convs=SMALL_CONVS, dense_units=(16,))
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    model.save_weights(folder / "m.weights.h5")
    (folder / "model.json").write_text(model.to_json())
    weights = model.get_weights()
    np.savez(folder / "w.npz", *weights)
    blob = zlib.compress(pickle.dumps(weights))
    (folder / "w.zlib").write_bytes(blob)
    (folder / "w.b64.txt").write_bytes(base64.b64encode(blob))
    (folder / "old_bytes.py").write_text(OLD_MAIN_PY.format(literal=f"WEIGHTS = {blob!r}"))
    (folder / "old_base64.py").write_text(OLD_MAIN_PY.format(
        literal=f"WEIGHTS = base64.b64decode({base64.b64encode(blob).decode()!r})").replace(
        "import pickle", "import base64\nimport pickle"))


def _episode(path: Path) -> None:
    """A real episode: kaggle-environments' JSON of a short match of two built-in agents."""
    import tempfile

    from common.kaggle import make_football

    with tempfile.TemporaryDirectory() as logs:
        env = make_football(steps=EPISODE_STEPS, logdir=logs)
        env.run(["run_right", "do_nothing"])
        path.write_text(json.dumps(env.toJSON()))


# ----- one mutation -------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One mutation of one seed, written to its own folder: what to run and what was done."""

    format: str
    index: int
    what: str
    input: Path  # the mutated file
    job: dict


def make_case(fmt: Format, index: int, seeds: Path, folder: Path, base: int = 0) -> Case:
    """The `index`-th mutation of `fmt` (the same for the same base seed), written into `folder`."""
    rng = random.Random(f"{base}:{fmt.name}:{index}")
    seed = fmt.seeds[index % len(fmt.seeds)]
    files = {name: (seeds / name).read_bytes() for name in (seed.file, *seed.companions)}
    what = _mutate(rng, fmt, seed, files)
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    arguments = {key: str(seeds / value) for key, value in seed.options.items()}
    arguments[fmt.role] = str(folder / seed.file)
    job = {"kind": fmt.kind, "model": arguments.pop("model"), "options": arguments,
           "output": str(folder / "out" / "main.py"), "folder": str(folder / "job")}
    return Case(fmt.name, index, what, folder / seed.file, job)


def _mutate(rng: random.Random, fmt: Format, seed: Seed, files: dict) -> str:
    for _ in range(50):
        mutator = rng.choice(fmt.mutators)
        target = seed.file
        if isinstance(mutator, OnCompanion):
            target = next((name for name in seed.companions if name.endswith(mutator.suffix)), None)
            if target is None:
                continue
            mutator = mutator.mutate
        try:
            files[target], what = mutator(rng, files[target])
        except Skip:
            continue
        return f"{mutator.__name__}: {what}" if target == seed.file else f"{target}: {what}"
    raise RuntimeError(f"no mutator applies to {seed.file}")


def warm_up_jobs(seeds: Path, folder: Path) -> list:
    """One unmutated job per format and seed: the server builds each once before it forks."""
    jobs = []
    for fmt in FORMATS.values():
        for number, seed in enumerate(fmt.seeds):
            arguments = {key: str(seeds / value) for key, value in seed.options.items()}
            arguments[fmt.role] = str(seeds / seed.file)
            jobs.append({"format": fmt.name, "kind": fmt.kind, "model": arguments.pop("model"), "options": arguments,
                         "output": str(folder / f"{fmt.name}-{number}" / "main.py")})
    return jobs
