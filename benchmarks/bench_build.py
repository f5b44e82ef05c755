"""What the build sandbox costs: `gfsub build` sandboxed (the default since issue 27) against `--no-sandbox` (the
same steps unsandboxed, as builds ran before issue 27), paired, for the demo's default model and every Keras family.

Since issue 27, `gfsub build` runs the source model's own code (Keras Lambda layers, the reference forward), the
--encoder and the verification match's main.py in a bubblewrap sandbox. Here each model is built by the real CLI,
`python -m gfsub.cli build MODEL -o OUT/main.py [--observation SPEC]`, both ways back to back, the order alternating
from model to model (sandboxed first for the 1st, 3rd, ... model; --no-sandbox first for the others), each build a
whole process timed with time.monotonic around subprocess.run. Both builds of a pair must exit 0.

The models: the demo's bundled default (`gfsub.demo.make_untrained_model`, .keras), and every Keras family of
tests/test_families.py (its FAMILIES, ERAS and SAVEDMODEL_TOO tables), written and trained by each era's own Keras
(tests/era_families.py run by the runtime's interpreter, at the tests' size) on the observations of one short real
match: `current` writes .keras, `kaggle-2020` (TensorFlow 2.3) .h5 and, for the families with several outputs, a
SavedModel, `keras2` the .h5 of two families. Each file is built with the family's --observation, as
test_the_family_builds_... does (its CASES).

    .venv/bin/python benchmarks/bench_build.py     # prints the table, writes its section of docs/benchmarks/results.md
    .venv/bin/python benchmarks/bench_build.py --quick [--out F]   # the demo and dense_simple115 (current),
                                                                   # --verify-steps 5 --target kaggle-2026

--verify-steps N: one fixed smaller --verify-steps for both builds of every pair; --skip runtime:family,... and
--stop-after MINUTES leave models out for time, and the page names them.

A pair where a build exits non-zero is a FAILED row with the error's line, and the script then exits 1.

Target (issue 27): building the demo and every Keras family costs 10 % or less more wall time than before the
sandbox (sum of the sandboxed builds / sum of the --no-sandbox builds <= 1.10).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import sections  # noqa: E402

OUT = ROOT / "docs" / "benchmarks" / "results.md"
TARGET = 1.10
BUILD_TIMEOUT = 1200  # seconds, one build
MATCH_STEPS = 820  # both sides' observations; the families train on steps 400-800 of the first side, as in the tests
QUICK = {"match_steps": 120, "families": {"current": ["dense_simple115"]}, "verify_steps": 5,
         "targets": "kaggle-2026"}
FORMAT_NAMES = {"keras": ".keras", "h5": ".h5", "savedmodel": "SavedModel"}
COLUMNS = 7


def both_sides(steps: int, folder: Path) -> list:
    """Raw observations of each side of one real match (seeded random actions on both sides, the other players by
    the engine AI), as tests/conftest.py's both_sides_observations, shorter."""
    import random

    from common.kaggle import make_football

    rng = random.Random(0)

    def random_agent(obs, config=None):
        return [rng.randrange(19)]

    env = make_football(steps=steps, logdir=str(folder))
    played = [state.observation.players_raw[0] for step in env.run([random_agent, random_agent])[:-1]
              for state in step if state.observation.players_raw]
    return [played[0::2], played[1::2]]


class Folders:
    """What train_era asks of pytest's tmp_path_factory: a new folder per name."""

    def __init__(self, base: Path):
        self.base = base

    def mktemp(self, name: str) -> Path:
        folder = self.base / name
        folder.mkdir()
        return folder


def train(runtime: str, families: list, folder: Path, sides: list) -> dict:
    """{family: [files]} written and trained by the era's own Keras (tests/test_families.py's train_era; with a
    family list of its own in --quick, whose match is too short for the tests' training slice)."""
    import tests.test_families as ft

    if families == ft.ERAS[runtime][1]:
        return ft.train_era(runtime, Folders(folder), sides)[1]
    saved = ft.ERAS[runtime]
    if len(sides[0]) < 800:  # a quick match: its observations repeated, for train_era's slice 400-800
        both = sides[0] + sides[1]
        sides = [both * (800 // len(both) + 1)] * 2
    ft.ERAS[runtime] = (saved[0], families)
    try:
        return ft.train_era(runtime, Folders(folder), sides)[1]
    finally:
        ft.ERAS[runtime] = saved


def models(work: Path, eras: dict, sides: list) -> list:
    """(model, file format, era, file, --observation or None) for the demo and every family file of `eras`."""
    import tests.test_families as ft
    from gfsub.demo import make_untrained_model

    listed = [("demo (default model)", ".keras", "current", make_untrained_model(work / "demo.keras"), None)]
    for runtime, families in eras.items():
        print(f"training the {runtime} era's families ({len(families)})...", file=sys.stderr, flush=True)
        written = train(runtime, families, work / "eras", sides)
        formats = ft.ERAS[runtime][0]
        for family in families:
            for index, kind in enumerate(formats):
                if index == 0 or family in ft.SAVEDMODEL_TOO:
                    listed.append((family, FORMAT_NAMES[kind], runtime, Path(written[family][index]),
                                   ft.FAMILIES[family][0]))
    return listed


def timed_build(source: Path, observation, sandboxed: bool, out: Path, options: list) -> tuple:
    """(wall s, exit code, stderr) of one whole `gfsub build` process."""
    command = [sys.executable, "-m", "gfsub.cli", "build", str(source), "-o", str(out / "main.py"), *options]
    if observation:
        command += ["--observation", observation]
    if not sandboxed:
        command.append("--no-sandbox")
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        return time.monotonic() - start, -1, f"TimeoutExpired: over {BUILD_TIMEOUT} s\n{error.stderr or ''}"
    seconds = time.monotonic() - start
    (out / "main.py").unlink(missing_ok=True)  # tens of MB each
    return seconds, done.returncode, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections.add_common_options(parser, OUT)
    parser.add_argument("--verify-steps", type=int, default=None,
                        help="one fixed --verify-steps for both builds of every pair (default: gfsub's own, 300)")
    parser.add_argument("--skip", default="",
                        help="runtime:family,... to leave out (named in the page)")
    parser.add_argument("--stop-after", type=float, default=None, metavar="MINUTES",
                        help="start no pair that would likely end after MINUTES from the start (the longest pair so "
                             "far as the guess); the models not built are named in the page as left out")
    args = parser.parse_args()
    out = sections.output_file(args, OUT)
    import tests.test_families as ft

    skipped = [item for item in args.skip.split(",") if item]
    if args.quick:
        eras, match_steps = QUICK["families"], QUICK["match_steps"]
        options = ["--verify-steps", str(QUICK["verify_steps"]), "--target", QUICK["targets"]]
    else:
        eras = {runtime: [family for family in families if f"{runtime}:{family}" not in skipped]
                for runtime, (_, families) in ft.ERAS.items()}
        eras = {runtime: families for runtime, families in eras.items() if families}
        match_steps = MATCH_STEPS
        options = ["--verify-steps", str(args.verify_steps)] if args.verify_steps else []
    work = sections.scratch("gfsub-bench-build-")
    started = time.monotonic()
    print(f"playing one match ({match_steps} steps) for the families' training data...", file=sys.stderr, flush=True)
    sides = both_sides(match_steps, work / "match")
    (work / "eras").mkdir()
    listed = models(work, eras, sides)
    prepared = time.monotonic() - started
    lines = ["| model | file | era | sandboxed s | --no-sandbox s | ratio | exit codes |",
             "|---|---|---|---|---|---|---|"]
    failures, pairs = [], []
    longest = 0.0
    for number, (name, kind, runtime, source, observation) in enumerate(listed):
        if args.stop_after and time.monotonic() - started + longest > args.stop_after * 60:
            skipped += [f"{model[2]}:{model[0]} ({model[1]})" for model in listed[number:]]
            print(f"stopping: {len(listed) - number} models left out for time", file=sys.stderr, flush=True)
            break
        pair_started = time.monotonic()
        order = (True, False) if number % 2 == 0 else (False, True)
        seconds, codes, errors = {}, {}, {}
        for sandboxed in order:
            build_out = work / "built" / f"{number}-{'sandboxed' if sandboxed else 'unsandboxed'}"
            build_out.mkdir(parents=True)
            try:
                seconds[sandboxed], codes[sandboxed], stderr = timed_build(source, observation, sandboxed,
                                                                           build_out, options)
            except Exception as error:  # the build could not even start
                seconds[sandboxed], codes[sandboxed], stderr = 0.0, -1, sections.error_line(error)
            if codes[sandboxed] != 0:
                errors[sandboxed] = sections.error_in(stderr)
        first = [name, kind, runtime]
        if errors:
            line = "; ".join(f"{'sandboxed' if side else '--no-sandbox'} exit {codes[side]}: {text}"
                             for side, text in errors.items())
            failures.append(f"{name} ({kind}, {runtime}): {line}")
            lines.append(sections.failed_row(first, line, COLUMNS))
        else:
            pairs.append((seconds[True], seconds[False]))
            lines.append(f"| {name} | {kind} | {runtime} | {seconds[True]:.1f} | {seconds[False]:.1f} | "
                         f"{seconds[True] / seconds[False]:.3f}x | {codes[True]} / {codes[False]} |")
        longest = max(longest, time.monotonic() - pair_started)
        print(lines[-1], file=sys.stderr, flush=True)
    total = time.monotonic() - started
    summary = []
    if pairs:
        sandboxed_sum, unsandboxed_sum = sum(s for s, _ in pairs), sum(u for _, u in pairs)
        ratio = sandboxed_sum / unsandboxed_sum
        median = statistics.median(s / u for s, u in pairs)
        lines.append(f"| **total** ({len(pairs)} models) | | | **{sandboxed_sum:.1f}** | **{unsandboxed_sum:.1f}** | "
                     f"**{ratio:.3f}x** | |")
        met = "**met**" if ratio <= TARGET and not failures else "**not met**"
        summary = [f"Total: the sandboxed builds took {ratio:.3f}x the --no-sandbox builds "
                   f"({(ratio - 1) * 100:+.1f} % wall time); median per-pair ratio {median:.3f}x "
                   f"({min(s / u for s, u in pairs):.3f}x to {max(s / u for s, u in pairs):.3f}x). "
                   f"Target: 10 % or less more wall time: {met}"
                   + (f" ({len(failures)} pairs failed)." if failures else ".")]
    steps = QUICK["verify_steps"] if args.quick else (args.verify_steps or 300)
    targets = QUICK["targets"] if args.quick else "kaggle-2020,kaggle-2026 (the default)"
    left_out = f" Left out (not built, for time): {', '.join(skipped)}." if skipped else ""
    sections.publish(out, "build", f"Building: sandboxed against --no-sandbox ({time.strftime('%Y-%m-%d')}, "
            f"{os.cpu_count()} cores{'; --quick' if args.quick else ''})", [
                f"Each model built by the real CLI (`python -m gfsub.cli build MODEL -o OUT/main.py "
                f"[--observation SPEC]`, --verify-steps {steps}, --target {targets}), sandboxed (the default) and "
                "`--no-sandbox`, back to back, the order alternating from model to model; whole-process wall time. "
                f"The families were trained by their era's own Keras (tests/era_families.py, the tests' size) on "
                f"a real match of {match_steps} steps.{left_out} The whole run took {total / 60:.1f} min "
                f"({prepared / 60:.1f} min of it the match, the training and the demo model).", "", *lines, "",
                *summary])
    sections.finish(failures)


if __name__ == "__main__":
    main()
