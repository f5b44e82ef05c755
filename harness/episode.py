"""A football episode as kaggle-environments writes it (`env.toJSON()`): Kaggle's replay download, or gfsub's own
match-NNN.json. Read defensively, since 2020's kaggle-environments (1.6.0) wrote the same form with fewer keys:
only `steps` (per step, one state per agent: action, observation, status) and `configuration` are relied on.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from builder.limits import loads
from common.errors import EpisodeFileError, MissingFileError, OptionValueError
from common.kaggle import FORFEITS, SCENARIO

SIDES = ("left", "right")
FIX = "pass the episode JSON kaggle-environments wrote (Kaggle's replay download, or a gfsub match-NNN.json)"


@dataclass
class Turn:
    """One call of the replayed side: Kaggle's step number, the observation it got, the action it answered."""

    step: int  # 1-based: the agent's n-th call
    observation: dict
    recorded: "list | None"  # None when the episode recorded no action (that call forfeited)


@dataclass
class Episode:
    path: Path
    configuration: dict
    steps: list
    version: str  # the environment's version the episode names ("" when it names none)

    def status(self, side: int) -> str:
        return str(self.steps[-1][side].get("status", ""))

    def statuses(self) -> str:
        """"left ERROR, right DONE"."""
        return ", ".join(f"{SIDES[side]} {self.status(side)}" for side in (0, 1))

    def forfeit_step(self, side: int) -> "int | None":
        """The step at which `side` forfeited in the episode (None if it did not)."""
        for number, step in enumerate(self.steps[1:], start=1):
            if step[side].get("status") in FORFEITS:
                return number
        return None

    def turns(self, side: int) -> list:
        """Every observation `side` was called with, in order, and the action the episode recorded for it."""
        turns = []
        for number in range(1, len(self.steps)):
            before, after = self.steps[number - 1][side], self.steps[number][side]
            if before.get("status") != "ACTIVE":
                break
            recorded = normalize(after.get("action")) if after.get("status") not in FORFEITS else None
            turns.append(Turn(number, before["observation"], recorded))
        return turns


def normalize(action) -> "list | None":
    """An action as a list of ints ([5]); None when it is not one (an exception, a string, a float)."""
    if isinstance(action, bool):
        return None
    if isinstance(action, int):
        return [action]
    if isinstance(action, list) and all(isinstance(a, int) and not isinstance(a, bool) for a in action):
        return list(action)
    return None


def read_episode(path: Path) -> Episode:
    """The episode at `path`, or one line saying why it is not one gfsub can replay."""
    if not path.is_file():
        raise MissingFileError(path, "does not exist", FIX)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EpisodeFileError(path, f"cannot be read as text ({exc.__class__.__name__})", FIX) from None
    try:
        data = loads(path, text, "its JSON", EpisodeFileError, FIX)
    except json.JSONDecodeError as exc:
        if _cut_short(text, exc):
            raise EpisodeFileError(path, f"is cut short: its JSON ends unfinished at byte {len(text):,}",
                                   "download or copy the episode again, whole") from None
        raise EpisodeFileError(path, f"is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                               FIX) from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise EpisodeFileError(path, "is not a kaggle-environments episode: it has no list of steps", FIX)
    name = data.get("name", "football")
    if name != "football":
        raise EpisodeFileError(path, f"is an episode of {name!r}, not of football", FIX)
    steps = data["steps"]
    if len(steps) < 2 or not all(_is_football_step(step) for step in steps):
        raise EpisodeFileError(path, "is not a football episode: its steps are not two agents' states with "
                               "gfootball observations, or none was played", FIX)
    configuration = data.get("configuration") if isinstance(data.get("configuration"), dict) else {}
    timeout = configuration.get("actTimeout", 0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 <= timeout < 1e6:
        raise EpisodeFileError(path, f"has an actTimeout of {timeout!r:.40}, not a number of seconds", FIX)
    scenario = configuration.get("scenario_name", SCENARIO)
    if scenario != SCENARIO:
        raise EpisodeFileError(path, f"is an episode of scenario {scenario!r}; gfsub replays Kaggle's {SCENARIO}",
                               "pass an episode of a Kaggle football match")
    return Episode(path, configuration, steps, str(data.get("version", "")))


def _cut_short(text: str, error: json.JSONDecodeError) -> bool:
    """The JSON stops mid-way: the error is at its end, in a string that runs into the end (the error points at
    the string's start), or in a last token cut off (`tr` of true, `-` of a number)."""
    tail = text[error.pos:].rstrip()
    return (error.pos >= len(text.rstrip()) - 1 or error.msg.startswith("Unterminated string")
            or any(word.startswith(tail) for word in ("true", "false", "null"))
            or re.fullmatch(r"-?[0-9.eE+-]*", tail) is not None)


def _is_football_step(step) -> bool:
    return (isinstance(step, list) and len(step) == 2 and all(
        isinstance(state, dict) and isinstance(state.get("observation"), dict) for state in step)
        and isinstance(step[0]["observation"].get("players_raw"), list))


def choose_side(episode: Episode, side: "int | None") -> int:
    """The side to replay: the one given, else the one that forfeited; one line when that is not one side."""
    if side is not None:
        if side not in (0, 1):
            raise OptionValueError(None, f"--side {side}: a football episode has sides 0 (left) and 1 (right)",
                                   "pass --side 0 or --side 1")
        chosen = side
    else:
        forfeited = [s for s in (0, 1) if episode.status(s) in FORFEITS]
        if len(forfeited) != 1:
            which = "both sides" if forfeited else "neither side"
            raise OptionValueError(episode.path, f"{which} forfeited ({episode.statuses()}), so the side to replay "
                                   "is not clear", "pass --side 0 (left) or --side 1 (right)")
        chosen = forfeited[0]
    controlled = episode.steps[0][chosen]["observation"].get("controlled_players", 1)
    if controlled == 0:
        raise OptionValueError(episode.path, f"side {chosen} ({SIDES[chosen]}) was played by the engine's own AI, "
                               "not by an agent", f"pass --side {1 - chosen}")
    return chosen
