"""report.html's figures of what the model wanted: the margin between its best action and the runner-up over a
match (a click seeks the replay, like the step-time plot), and the actions it played, by gfootball's names."""

from common.kaggle import ACTION_NAMES
from harness.wanted import action_counts

NO_VALUES = "no Q-values: not a gfsub main.py (any other agent, or a built-in, plays without them)"


def margin_figure(wanted: dict, mark: "int | None" = None) -> dict:
    """Per step, best value minus the runner-up's: low is where the model was unsure. `mark`: a step to flag."""
    import plotly.graph_objects as go

    steps = [number for number, margin in enumerate(wanted["margin"], start=1) if margin is not None]
    margins = [margin for margin in wanted["margin"] if margin is not None]
    names = [f"{ACTION_NAMES[top[0]]} over {ACTION_NAMES[top[1]]}" for top in wanted["top"] if top and len(top) > 1]
    figure = go.Figure(go.Scatter(x=steps, y=margins, mode="markers", name="margin", customdata=names,
                                  marker={"size": 4, "color": "#9467bd"},
                                  hovertemplate="step %{x}: %{customdata}, margin %{y:.4g}"
                                                "<extra>click: replay</extra>"))
    if mark is not None:
        figure.add_vline(x=mark, line={"color": "#d62728", "dash": "dash"}, annotation_text=f"step {mark}")
    figure.update_layout(title="margin: best value minus the runner-up's (low: the model was unsure)",
                         xaxis_title="step", yaxis_title="margin", **{**_layout(), "showlegend": False})
    return figure.to_plotly_json()


def actions_figure(counts_by_name: dict, title: str = "actions played") -> dict:
    """Bars of how often each action was played: {label: [19 counts]}, one series per label."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, counts in counts_by_name.items():
        total = sum(counts) or 1
        figure.add_trace(go.Bar(x=list(ACTION_NAMES), y=[count / total for count in counts], name=label,
                                customdata=counts, hovertemplate="%{x}: %{customdata} steps (%{y:.1%})"
                                                                 "<extra>" + label + "</extra>"))
    figure.update_layout(title=title, yaxis_tickformat=".0%", yaxis_title="share of steps", barmode="group",
                         **{**_layout(), "showlegend": len(counts_by_name) > 1})
    return figure.to_plotly_json()


def match_choice_figures(key: str, wanted: "dict | None", mark: "int | None" = None) -> dict:
    """{element id: figure} for one match's side: the margin plot and the action histogram (none without values)."""
    if not wanted:
        return {}
    return {f"{key}-margin": margin_figure(wanted, mark),
            f"{key}-actions": actions_figure({"played": action_counts(wanted)})}


def _layout() -> dict:
    return {"margin": {"l": 60, "r": 20, "t": 50, "b": 80}, "template": "plotly_white", "hovermode": "closest",
            "legend": {"orientation": "h", "y": -0.35}}
