"""report.html for `gfsub replay`: the verdict, the episode's 2D replay with the failing step marked, the step
times and margins (a click seeks the replay), and the per-step table of recorded against replayed actions."""

import html
from pathlib import Path

from common.kaggle import ACTION_NAMES
from harness.choice_figures import NO_VALUES, match_choice_figures
from harness.episode import SIDES
from harness.html_report import key_value_table, replay_frames, step_time_figure, write_page
from harness.replay import DIFFERS, REPRODUCED, ReplayReport
from harness.wanted import choice_at

COLOURS = {REPRODUCED: "#d62728", DIFFERS: "#ff7f0e"}


def replay_page(run_dir: Path, report: ReplayReport) -> Path:
    durations = [step.seconds for step in report.steps]
    mark = report.failed_step or report.first_difference
    label = "the failing step" if report.failed_step else "the first step played differently"
    figures = {"r-steps": step_time_figure(durations, 2.0)} if durations else {}
    figures.update(match_choice_figures("r", report.wanted, mark))
    colour = COLOURS.get(report.verdict, "#2ca02c")
    body = [
        f'<h1>gfsub replay: <span style="color:{colour}">{html.escape(report.verdict)}</span></h1>',
        f'<p id="verdict">{html.escape(report.sentence)}</p>',
        key_value_table([("episode", report.episode), ("main.py", report.main_py),
                         ("side", f"{report.side} ({SIDES[report.side]})"), ("runtime", report.runtime),
                         ("agents", report.isolation), ("episode's statuses", report.episode_statuses),
                         ("steps replayed", f"{len(report.steps):,} of {report.recorded_steps:,}"),
                         ("recorded actions matched", f"{report.matched:,} of {report.compared:,}"),
                         ("overage pool left", f"{report.overage_left:.2f} s")]),
        '<div class="grid"><div class="replay" id="r-replay"></div><div class="plot" id="r-steps"></div>' +
        ('<div class="plot" id="r-margin"></div><div class="plot" id="r-actions"></div>' if report.wanted
         else f'<p class="no-values">{NO_VALUES}</p>') + "</div>",
    ]
    if report.traceback:
        body.append(f"<h2>traceback at step {report.failed_step}</h2><pre>{html.escape(report.traceback)}</pre>")
    elif report.stderr:
        body.append(f"<h2>main.py's stderr at step {report.stderr_step}</h2><pre>{html.escape(report.stderr)}</pre>")
    body.append("<h2>every step</h2>" + step_table(report))
    replays = {}
    frames = replay_frames(Path(report.episode), SIDES[report.side], durations)
    if frames is not None:
        replays["r-replay"] = {**frames, "wanted": report.wanted, "actor": "recorded",
                               "mark": {"step": mark, "label": label} if mark else None,
                               "plots": ["r-steps", "r-margin"]}
    return write_page(run_dir, f"gfsub replay {report.verdict}", body, figures, replays)


def step_table(report: ReplayReport) -> str:
    """One row per replayed step: recorded and replayed actions by name, step time, the model's runner-up."""
    def named(action: "list | None") -> str:
        return "-" if action is None else ", ".join(ACTION_NAMES[a] if 0 <= a < 19 else str(a) for a in action)

    rows = []
    for index, step in enumerate(report.steps):
        choice = choice_at(report.wanted, index)
        flag = "" if step.recorded is None or step.matched else ' class="differs"'
        runner_up = ACTION_NAMES[choice.runner_up] if choice and choice.runner_up is not None else "-"
        margin = f"{choice.margin:.3g}" if choice and choice.margin is not None else "-"
        rows.append(f"<tr{flag}><td>{step.step}</td><td>{named(step.recorded)}</td><td>{named(step.played)}</td>"
                    f"<td>{step.seconds * 1000:.2f}</td><td>{runner_up}</td><td>{margin}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("step", "recorded", "played now", "ms", "runner-up", "margin"))
    return f'<table id="steps"><tr>{head}</tr>{"".join(rows)}</table>'
