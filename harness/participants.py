"""League participants: main.py files (single- or multi-file agents), the engine AI, and kaggle-environments'
built-in agents. Every file is checked before anything is written: it exists, it loads with kaggle-environments'
loader (in a separate process, as it will be in a match), and it yields a callable."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from common.errors import ParticipantError
from common.files import sha256_of
from common.kaggle import BUILTIN_AGENTS
from runtimes.hosted import probe_load
from runtimes.registry import Runtime, current_runtime
from runtimes.sandbox import Limits

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


def resolve_participants(given: list[str], engine: bool, runtime: "Runtime | None" = None,
                         sandbox: "dict | None" = None) -> list[Participant]:
    """Participants in the order given (the engine last); one-line errors for missing, unloadable or repeated
    ones. Files are loaded in `runtime` (default: this interpreter's), in the sandbox they will play in."""
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
        problems = pool.map(lambda participant: load_problem(participant, runtime or current_runtime(), sandbox),
                            files)
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


def load_problem(participant: Participant, runtime: Runtime, sandbox: "dict | None" = None) -> str:
    """'' if the file loads to a callable in a fresh process of `runtime` (in a sandbox of these limits, if
    given), else what went wrong."""
    return probe_load(runtime.python, participant.agent, timeout=LOAD_TIMEOUT,
                      sandbox=Limits.from_dict(sandbox) if sandbox else None, environment=runtime.spec.environment)
