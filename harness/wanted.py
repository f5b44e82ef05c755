"""What the model wanted: the values (Q-values or logits) behind each action a gfsub main.py played, kept compact.

A gfsub main.py keeps the output behind its last action (`POLICY.last_values`); the agent worker sends it with
each reply, and a file loaded in the match process is read the same way. Per step the harness keeps the top-3
actions, their values, and the margin between the best and the runner-up: a few hundred KB for a whole match.
Agents that are not gfsub's have no values, and their steps are None.
"""

from dataclasses import dataclass

from common.kaggle import ACTION_NAMES
from runtimes.hosted import unpacked

TOP = 3


def compact(per_step: list) -> "dict | None":
    """Per-step value lists -> {"top": [[a, a, a]], "values": [[v, v, v]], "margin": [m]} (None where a step had
    none); None when no step had values (not a gfsub agent)."""
    per_step = [unpacked(values) for values in per_step]
    if not any(values for values in per_step):
        return None
    top, best, margin = [], [], []
    for values in per_step:
        if not values:
            top.append(None), best.append(None), margin.append(None)
            continue
        order = sorted(range(len(values)), key=values.__getitem__, reverse=True)[:TOP]
        top.append(order)
        best.append([float(f"{values[a]:.6g}") for a in order])
        margin.append(float(f"{values[order[0]] - values[order[1]]:.4g}") if len(order) > 1 else None)
    return {"top": top, "values": best, "margin": margin}


@dataclass
class Choice:
    """One step's choice, for reports: the action played, the runner-up, and how close they were."""

    action: int
    value: float
    runner_up: "int | None"
    runner_up_value: "float | None"
    margin: "float | None"


def choice_at(wanted: dict, step: int) -> "Choice | None":
    """The choice at a 0-based step of a compact record (None where that step had no values)."""
    if not wanted or step >= len(wanted["top"]) or not wanted["top"][step]:
        return None
    top, values = wanted["top"][step], wanted["values"][step]
    second = len(top) > 1
    return Choice(top[0], values[0], top[1] if second else None, values[1] if second else None,
                  wanted["margin"][step])


def action_counts(wanted: dict) -> list:
    """How often each of the 19 actions was the model's choice."""
    counts = [0] * len(ACTION_NAMES)
    for top in wanted["top"]:
        if top and top[0] < len(counts):
            counts[top[0]] += 1
    return counts


def recorded_file_agent(path: str, per_step: list, load=None):
    """A file agent for the match process, loaded as kaggle-environments loads a path (lazily, by the first call,
    inside its timer; `load(path)` for another loader) that appends a copy of the values behind each action to
    `per_step`."""
    from pathlib import Path

    from common.kaggle import load_like_kaggle

    load = load or load_like_kaggle
    loaded = []  # [agent, its argument count, its policy (None: not a gfsub main.py)] once loaded

    def file_agent(observation, configuration):
        if not loaded:
            agent = load(Path(path))
            code = getattr(agent, "__code__", None)
            loaded.extend([agent, code.co_argcount if code else 2, getattr(agent, "__globals__", {}).get("POLICY")])
        agent, arguments, policy = loaded
        action = agent(*(observation, configuration)[:arguments])
        values = getattr(policy, "last_values", None)
        per_step.append(None if values is None else values.copy())  # the forward may reuse its output buffer
        return action

    return file_agent


@dataclass
class Choices:
    """What one agent wanted over several matches: how often it played each action, and its margins' median."""

    steps: int
    actions: list  # 19 counts
    median_margin: "float | None"

    def __post_init__(self) -> None:
        self._margins = []  # every step's margin so far: not a field, so not in report.json

    @classmethod
    def add(cls, so_far: "Choices | None", wanted: "dict | None") -> "Choices | None":
        """`so_far` with one more match's compact record (unchanged by a match without values)."""
        if not wanted:
            return so_far
        total = so_far or cls(0, [0] * len(ACTION_NAMES), None)
        counts = action_counts(wanted)
        total.actions = [a + b for a, b in zip(total.actions, counts, strict=True)]
        total.steps += sum(counts)
        total._margins += [m for m in wanted["margin"] if m is not None]
        ordered = sorted(total._margins)
        total.median_margin = ordered[len(ordered) // 2] if ordered else None
        return total

    def sentence(self) -> str:
        top = max(range(len(self.actions)), key=self.actions.__getitem__)
        share = self.actions[top] / max(1, self.steps)
        margin = f", median margin {self.median_margin:.3g}" if self.median_margin is not None else ""
        return f"{self.steps:,} steps with Q-values: most played {ACTION_NAMES[top]} ({share:.0%}){margin}"
