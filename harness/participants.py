"""League participants: main.py files (single- or multi-file agents), the engine AI, and kaggle-environments'
built-in agents. Every file is checked before anything is written: it exists, it loads with kaggle-environments'
loader (in a separate process, as it will be in a match), and it yields a callable."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from builder.errors import ParticipantError
from builder.files import sha256_of
from builder.runtime_agent import WORKER
from harness.match import BUILTIN_AGENTS

ENGINE = "engine"
LOAD_TIMEOUT = 120.0  # seconds a participant may take to load in the probe


@dataclass(frozen=True)
class Participant:
    name: str  # shown in tables: the path as given, or the built-in's name
    agent: str  # absolute path of a main.py, or engine / do_nothing / run_right
    sha256: str = ""  # of the main.py file (a built-in has none)

    @property
    def is_file(self) -> bool:
        return self.agent not in (ENGINE, *BUILTIN_AGENTS)


def resolve_participants(given: list[str], engine: bool, python: str = sys.executable) -> list[Participant]:
    """Participants in the order given (the engine last); one-line errors for missing, unloadable or repeated
    ones. Files are loaded with `python` (the interpreter of the runtime they will play in)."""
    participants = []
    for text in given:
        if text in BUILTIN_AGENTS:
            participants.append(Participant(text, text))
            continue
        if text == ENGINE:
            raise ParticipantError(None, "the engine AI is not a file", "pass --engine to add it")
        path = Path(text)
        if path.is_dir():
            path = path / "main.py"
        if not path.is_file():
            raise ParticipantError(path, "no such main.py", "check the path (a folder is read as its main.py), or "
                                   f"use a built-in: {', '.join(BUILTIN_AGENTS)}")
        participants.append(Participant(str(path), str(path.resolve()), sha256_of(path)))
    participants = _short_names(participants)
    if engine:
        participants.append(Participant(ENGINE, ENGINE))
    _refuse_duplicates(participants)
    if len(participants) < 2:
        raise ParticipantError(None, f"a league needs at least 2 participants (got {len(participants)})",
                               "name more main.py files or built-ins, or add --engine")
    files = [p for p in participants if p.is_file]
    with ThreadPoolExecutor(max_workers=4) as pool:
        problems = pool.map(lambda participant: load_problem(participant, python), files)
        for participant, problem in zip(files, problems, strict=True):
            if problem:
                raise ParticipantError(participant.name, problem, "fix the file: kaggle-environments plays the "
                                       "last callable it defines")
    return participants


def _short_names(participants: list[Participant]) -> list[Participant]:
    """Name each file by the fewest trailing path parts (at least folder/file) that tell it from the others."""
    files = [p for p in participants if p.is_file]
    for count in range(2, 64):
        names = {p.agent: "/".join(Path(p.agent).parts[-count:]) for p in files}
        if len(set(names.values())) == len(names):
            break
    return [replace(p, name=names[p.agent]) if p.is_file else p for p in participants]


def _refuse_duplicates(participants: list[Participant]) -> None:
    seen = {}
    for participant in participants:
        key = participant.sha256 or participant.agent
        if key in seen:
            same = "the same file" if participant.agent == seen[key].agent else "identical content"
            raise ParticipantError(participant.name, f"is named twice ({same} as {seen[key].name})",
                                   "list each participant once (copies play each other identically)")
        seen[key] = participant


# Runs on the runtime's interpreter (Python 3.7 and newer): the loader of builder/agent_worker.py, which is the
# runtime's own kaggle-environments when it has one.
PROBE = """
import json, os, sys
sys.path.insert(0, sys.argv[3])
from agent_worker import last_callable
path = sys.argv[1]
try:
    agent = last_callable(path)
    problem = "" if callable(agent) else "defines no callable (kaggle-environments plays the last one)"
except Exception as exc:
    lines = str(exc).strip().splitlines()
    last = lines[-1] if lines else type(exc).__name__
    problem = ("defines no callable (kaggle-environments plays the last one)" if "list index out of range" in last
               else "does not load with kaggle-environments' loader: " + last)
os.write(int(sys.argv[2]), json.dumps(problem).encode())
"""


def load_problem(participant: Participant, python: str = sys.executable) -> str:
    """'' if the file loads to a callable in a fresh process of `python`, else what went wrong."""
    read_end, write_end = os.pipe()
    try:
        worker_folder = str(WORKER.parent)
        # -I: no script folder or working directory on sys.path, so a helper module imports only if the loader
        # itself makes it importable, as in a match.
        process = subprocess.Popen([python, "-I", "-c", PROBE, participant.agent, str(write_end), worker_folder],
                                   pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, cwd=str(Path(participant.agent).parent))
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1
            try:
                process.wait(timeout=LOAD_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return f"did not load within {LOAD_TIMEOUT:.0f} s"
            data = pipe.read()
    finally:
        for descriptor in (read_end, write_end):
            if descriptor >= 0:
                os.close(descriptor)
    if not data:
        return f"its loader process exited with code {process.returncode} without loading it"
    return json.loads(data)
