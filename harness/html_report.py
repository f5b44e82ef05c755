"""report.html beside report.json: what a check or a league found, drawn, in one file that needs no network.

Plots are plotly figures (built here in Python, drawn in the page by plotly.js, which is inlined once): plotly
because the page is interactive — a click on a point of a match's step-time plot moves that match's replay to
the step — and it still needs nothing but the file. The replay is drawn on a canvas by the page's own script from
a compact copy of the episode (positions, score, the candidate's action and step time per step):
kaggle-environments' own HTML replay loads its scripts from public CDNs and stays blank offline.
"""

import html
import json
import re
from pathlib import Path

import numpy as np

from common.files import write_atomic
from common.kaggle import ACT_TIMEOUT, ACTION_NAMES, OVERAGE_POOL
from harness.choice_figures import NO_VALUES, actions_figure, match_choice_figures

REPORT_HTML = "report.html"
PAGE_SCRIPT = Path(__file__).with_name("report_page.js")


# ----- figures ------------------------------------------------------------------------------------------------
def step_time_figure(durations: list, slowdown: float) -> dict:
    """Each step's time (log scale) against the 0.5 s limit; step 1 (loading main.py) marked apart."""
    import plotly.graph_objects as go

    steps = list(range(1, len(durations) + 1))
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=steps[1:], y=durations[1:], mode="markers", name="steps 2..",
                                marker={"size": 4, "color": "#1f77b4"},
                                hovertemplate="step %{x}: %{y:.4f} s<extra>click: replay</extra>"))
    if durations:
        figure.add_trace(go.Scatter(x=[1], y=[durations[0]], mode="markers+text", name="step 1 (load + act)",
                                    marker={"size": 11, "color": "#d62728", "symbol": "diamond"},
                                    text=[f"step 1: {durations[0]:.2f} s"], textposition="bottom right"))
    figure.add_hline(y=ACT_TIMEOUT, line={"color": "#d62728", "dash": "dash"},
                     annotation_text=f"{ACT_TIMEOUT} s limit", annotation_position="top left")
    figure.add_hline(y=ACT_TIMEOUT / slowdown, line={"color": "#ff7f0e", "dash": "dot"},
                     annotation_text=f"limit at {slowdown:g}x slower", annotation_position="bottom left")
    figure.update_layout(title="step time", xaxis_title="step", yaxis_title="seconds", yaxis_type="log",
                         **_layout())
    return figure.to_plotly_json()


def step_histogram_figure(durations: list) -> dict:
    import plotly.graph_objects as go

    later_ms = [d * 1000 for d in durations[1:]]
    figure = go.Figure(go.Histogram(x=later_ms, nbinsx=60, marker={"color": "#1f77b4"}, name="steps 2.."))
    figure.update_layout(title=f"step times, steps 2.. (step 1 apart: {durations[0]:.2f} s)" if durations else
                         "step times", xaxis_title="milliseconds", yaxis_title="steps", yaxis_type="log", **_layout())
    return figure.to_plotly_json()


def overage_figure(durations: list, slowdown: float) -> dict:
    """The 60 s overage pool over the match, as measured and if every step were `slowdown` times slower."""
    import plotly.graph_objects as go

    times = np.asarray(durations, dtype=np.float64)
    steps = list(range(1, len(durations) + 1))
    figure = go.Figure()
    for label, scale, colour in (("measured", 1.0, "#1f77b4"), (f"at {slowdown:g}x slower", slowdown, "#ff7f0e")):
        left = OVERAGE_POOL - np.cumsum(np.maximum(times * scale - ACT_TIMEOUT, 0.0))
        figure.add_trace(go.Scatter(x=steps, y=left.tolist(), mode="lines", name=label, line={"color": colour}))
    figure.add_hline(y=0, line={"color": "#d62728"}, annotation_text="empty pool = TIMEOUT")
    figure.update_layout(title="overage pool left", xaxis_title="step", yaxis_title="seconds",
                         yaxis_range=[-5, OVERAGE_POOL + 5], **_layout())
    return figure.to_plotly_json()


def win_rate_figure(rows: list) -> dict:
    """Win rates with their 95 % Wilson intervals: rows = [(label, rate, [low, high])]."""
    import plotly.graph_objects as go

    labels = [row[0] for row in rows]
    rates = [row[1] for row in rows]
    figure = go.Figure(go.Scatter(
        x=rates, y=labels, mode="markers", marker={"size": 12, "color": "#2ca02c"},
        error_x={"type": "data", "symmetric": False, "array": [high - rate for _, rate, (_, high) in rows],
                 "arrayminus": [rate - low for _, rate, (low, _) in rows], "thickness": 3, "width": 8},
        hovertemplate="%{y}: %{x:.0%}<extra></extra>"))
    figure.update_layout(title="win rate with its 95% Wilson interval", xaxis_range=[-0.02, 1.02],
                         xaxis_tickformat=".0%", height=140 + 40 * len(rows), **{**_layout(), "showlegend": False})
    return figure.to_plotly_json()


def standings_figure(standings: list) -> dict:
    """Each participant's rating ± uncertainty, and its conservative score (rating - 3 x uncertainty)."""
    import plotly.graph_objects as go

    names = [s.name for s in reversed(standings)]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=[s.rating for s in reversed(standings)], y=names, mode="markers", name="rating ± uncertainty",
        marker={"size": 12, "color": "#1f77b4"},
        error_x={"type": "data", "array": [s.uncertainty for s in reversed(standings)], "thickness": 3,
                 "width": 8}))
    figure.add_trace(go.Scatter(x=[s.conservative for s in reversed(standings)], y=names, mode="markers",
                                name="conservative (rating - 3 x uncertainty)",
                                marker={"size": 10, "symbol": "line-ns-open", "color": "#d62728"}))
    figure.update_layout(title="ratings (openskill)", xaxis_title="rating", height=160 + 45 * len(names),
                         **_layout())
    return figure.to_plotly_json()


def pairwise_figure(names: list, pairs: list) -> dict:
    """Each pair from both sides: points per match of the row participant against the column one (win 1, draw
    1/2, so that a pair of draws is not painted as a pair of losses), with W/D/L and the win rate."""
    import plotly.graph_objects as go

    index = {name: i for i, name in enumerate(names)}
    points = [[None] * len(names) for _ in names]
    text = [[""] * len(names) for _ in names]
    win_rate = [[None] * len(names) for _ in names]
    for pair in pairs:
        a, b = index[pair.a], index[pair.b]
        if not pair.played:
            continue
        points[a][b] = (pair.wins + pair.draws / 2) / pair.played
        points[b][a] = 1.0 - points[a][b]
        win_rate[a][b], win_rate[b][a] = pair.wins / pair.played, pair.losses / pair.played
        text[a][b] = f"{pair.wins}/{pair.draws}/{pair.losses}"
        text[b][a] = f"{pair.losses}/{pair.draws}/{pair.wins}"
    figure = go.Figure(go.Heatmap(
        z=points, x=names, y=names, text=text, customdata=win_rate, texttemplate="%{text}", zmin=0, zmax=1,
        colorscale="RdYlGn", colorbar={"title": "points"},
        hovertemplate="%{y} vs %{x}: W/D/L %{text}, win rate %{customdata:.0%}, points %{z:.2f}<extra></extra>"))
    figure.update_layout(title="pairwise: points per match of the row against the column (win 1, draw ½; cells "
                         "W/D/L)", yaxis_autorange="reversed", height=200 + 50 * len(names), **_layout())
    return figure.to_plotly_json()


def _layout() -> dict:
    return {"margin": {"l": 60, "r": 20, "t": 50, "b": 45}, "template": "plotly_white", "showlegend": True,
            "legend": {"orientation": "h", "y": -0.25}, "hovermode": "closest"}


# ----- the replay data ----------------------------------------------------------------------------------------
def replay_frames(episode_path: Path, side: str, durations: list) -> "dict | None":
    """Positions (absolute: left team attacks to the right), score, the candidate's action and step time per step,
    from the episode kaggle-environments wrote. None if the episode is missing or unreadable."""
    try:
        episode = json.loads(Path(episode_path).read_text())
    except (OSError, ValueError, TypeError):
        return None
    me = 0 if side == "left" else 1
    frames = []
    for number, step in enumerate(episode["steps"][1:], start=1):
        view = next(((slot, state["observation"]["players_raw"][0]) for slot, state in enumerate(step)
                     if state.get("observation", {}).get("players_raw")), None)
        if view is None:
            continue
        slot, raw = view
        left, right = raw["left_team"], raw["right_team"]
        ball, score = raw["ball"][:2], list(raw["score"])
        if slot == 1:  # the right side's view is mirrored: its own team is "left_team"
            left, right = [[-x, -y] for x, y in right], [[-x, -y] for x, y in left]
            ball, score = [-ball[0], -ball[1]], score[::-1]
        action = step[me].get("action")
        action = action[0] if isinstance(action, list) and action else None
        frames.append([number, _rounded(left), _rounded(right), _rounded([ball])[0], score,
                       action, round(durations[number - 1], 5) if number - 1 < len(durations) else None])
    return {"side": side, "frames": frames}


def _rounded(points: list) -> list:
    return [[round(float(x), 3), round(float(y), 3)] for x, y in points]


# ----- pages --------------------------------------------------------------------------------------------------
def provenance(main_py: Path) -> list:
    """(key, value) pairs of a gfsub main.py's header: gfsub version, source, sha256, architecture, backend."""
    try:
        with open(main_py, encoding="utf-8") as handle:
            header = [line for line in (next(handle, "") for _ in range(16)) if line.startswith("#")]
    except OSError:
        return [("main.py", f"{main_py} (not readable now)")]
    version = re.search(r"generated by gfsub (\S+?)\.?\s", header[0]) if header else None
    found = [("built by", f"gfsub {version.group(1)}")] if version else []
    for line in header[1:]:
        field = re.match(r"#\s*(source weights|source sha256|architecture|backend|fallback action|built)\s*:\s*(.*)",
                         line)
        if field:
            found.append((field.group(1), field.group(2).strip()))
    return found or [("main.py", "not built by gfsub: no provenance header")]


def check_page(run_dir: Path, report, results: list) -> Path:
    """report.html for a check: summary, then per match its plots and its replay."""
    slowdown = report.config.slowdown
    by_index = {result.index: result for result in results}
    figures, sections = {}, []
    colour = {"PASS": "#2ca02c", "INTERRUPTED": "#ff7f0e"}.get(report.verdict, "#d62728")
    summary = [
        f'<h1>gfsub check: <span style="color:{colour}">{report.verdict}</span></h1>',
        bullet_list(report.reasons) if report.reasons else "<p>No forfeit; the overage pool holds at "
        f"{slowdown:g}x slower.</p>",
        key_value_table([("main.py", report.config.main_py), ("sha256", report.main_py_sha256),
                *provenance(Path(report.config.main_py)),
                ("runtime", report.runtime.sentence()),
                ("coverage", f"{report.coverage.sentence()} — {report.coverage.grade()}"),
                ("W/D/L", report.record.sentence()),
                ("forfeits", "; ".join(report.forfeits.candidate + report.forfeits.opponent) or "none")]),
    ]
    figures["win-rate"] = win_rate_figure([(f"vs {Path(report.config.opponent).name}", report.record.win_rate,
                                            report.record.win_rate_95ci)])
    summary.append('<div class="plot short" id="win-rate"></div>')
    replays = {}
    for match in report.matches:
        result = by_index.get(match.index)
        durations = result.durations if result is not None else []
        key = f"m{match.index}"
        links = [f'<a href="{html.escape(Path(path).name)}">{label}</a>' for path, label in
                 ((match.episode, "episode JSON"), (match.video, "the engine's video (webm)"))
                 if path]
        sections.append(
            f'<section id="match-{match.index}"><h2>match {match.index}: {match.side}, score {match.score[0]}-'
            f'{match.score[1]}, {match.status} ({match.outcome})</h2><p>{" · ".join(links) or "no episode saved"}'
            f'</p><div class="grid">' + "".join(f'<div class="plot" id="{key}-{name}"></div>'
                                                 for name in ("steps", "histogram", "overage")) +
            f'<div class="replay" id="{key}-replay"></div>' +
            (f'<div class="plot" id="{key}-margin"></div><div class="plot" id="{key}-actions"></div>'
             if result is not None and result.wanted else f'<p class="no-values">{NO_VALUES}</p>') + '</div>' +
            (f"<pre>{html.escape(match.stderr[-3000:])}</pre>" if match.stderr and match.status != "DONE" else "") +
            "</section>")
        if durations:
            figures[f"{key}-steps"] = step_time_figure(durations, slowdown)
            figures[f"{key}-histogram"] = step_histogram_figure(durations)
            figures[f"{key}-overage"] = overage_figure(durations, slowdown)
        wanted = result.wanted if result is not None else None
        figures.update(match_choice_figures(key, wanted))
        frames = replay_frames(Path(match.episode), match.side, durations) if match.episode else None
        if frames is not None:
            replays[f"{key}-replay"] = {**frames, "wanted": wanted, "plots": [f"{key}-steps", f"{key}-margin"]}
    return write_page(run_dir, f"gfsub check {report.verdict}", summary + sections, figures, replays)


def league_page(run_dir: Path, report) -> Path:
    """report.html for a league: standings with rating intervals, the pairwise heatmap, the tables."""
    names = [p.name for p in report.config.participants]
    state = ("complete" if report.complete else
             f"{'interrupted' if report.interrupted else 'incomplete'}: {report.finished} of {report.total}")
    rows = [(s.name, f"{s.rating:.1f} ± {s.uncertainty:.1f}", f"{s.conservative:.1f}",
             f"{s.wins}/{s.draws}/{s.losses}", f"{s.goals_for}-{s.goals_against}", "; ".join(s.forfeits) or "-",
             s.choices.sentence() if s.choices else NO_VALUES)
            for s in report.standings]
    with_values = {s.name: s.choices.actions for s in report.standings if s.choices}
    body = [f"<h1>gfsub league ({state}, {report.finished} matches of {report.config.steps} steps)</h1>",
            f"<p>agents: {html.escape(report.isolation)}</p>",
            '<div class="plot" id="standings"></div>', '<div class="plot" id="pairs"></div>',
            grid_table(("participant", "rating ± uncertainty", "conservative", "W/D/L", "goals", "forfeits",
                         "what the model wanted"), rows)]
    if with_values:
        body.append('<div class="plot" id="actions"></div>')
    if report.void:
        body.append("<h2>void matches (not rated)</h2>" + bullet_list(report.void))
    figures = {"standings": standings_figure(report.standings), "pairs": pairwise_figure(names, report.pairs)}
    if with_values:
        figures["actions"] = actions_figure(with_values, "actions played, per gfsub participant")
    return write_page(run_dir, "gfsub league", body, figures, {})


def write_page(run_dir: Path, title: str, body: list, figures: dict, replays: dict) -> Path:
    import plotly.offline

    data = json.dumps({"figures": figures, "replays": replays, "actions": ACTION_NAMES},
                      default=_json_default).replace("</", "<\\/")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; }}
table {{ border-collapse: collapse; margin: 8px 0; }} td, th {{ padding: 3px 10px; border-bottom: 1px solid #ddd;
text-align: left; vertical-align: top; }}
.grid {{ display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }}
.plot {{ min-height: 320px; }} .plot.short {{ min-height: 0; }}
.replay canvas {{ width: 100%; border: 1px solid #ccc; }}
pre {{ background: #f6f6f6; padding: 8px; overflow: auto; }}
tr.differs td {{ background: #fde0dc; }}
</style>
<script>{plotly.offline.get_plotlyjs()}</script>
</head><body>
{chr(10).join(body)}
<script type="application/json" id="gfsub-data">{data}</script>
<script>{PAGE_SCRIPT.read_text()}</script>
</body></html>
"""
    path = run_dir / REPORT_HTML
    write_atomic(path, page)
    return path


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def key_value_table(rows: list) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def grid_table(header: tuple, rows: list) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def bullet_list(items: list) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"
