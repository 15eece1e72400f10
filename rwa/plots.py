"""Plotly figures from arrays. No Streamlit here, so every figure can be
built and checked in a test.

Shape letters: T timesteps, U units.
"""

import numpy as np
import plotly.graph_objects as go

from rwa.analysis import THRESHOLDS

STATE_COLORS = "RdBu_r"
MARKER_COLOR = "#2ca02c"
RWA_COLOR = "#d62728"
LSTM_COLOR = "#1f77b4"


def _layout(figure, title, height):
    figure.update_layout(
        title=title, height=height, margin=dict(l=60, r=20, t=50, b=50)
    )
    return figure


def state_heatmap(
    h,
    title="State h",
    markers=(),
    steps=None,
    height=600,
    label="h",
    centre=0.0,
    zrange=None,
):
    """Time (down) by units (across); colours centred on `centre` (None for a
    sequential scale).

    Args:
        h: (T, U) state of one sequence.
        markers: steps to draw as horizontal lines across the units.
        steps: (T,) the step number of each row (default 0 .. T-1).
        zrange: `(low, high)` of the colour scale, so that two heatmaps can
            share one; default: from `h`'s values.
    """
    h = np.asarray(h, dtype=np.float32)
    steps = np.arange(h.shape[0]) if steps is None else np.asarray(steps)
    low, high = (None, None) if zrange is None else zrange
    figure = go.Figure(
        go.Heatmap(
            z=h,
            x=np.arange(h.shape[1]),
            y=steps,
            colorscale=STATE_COLORS if centre is not None else "Viridis",
            zmid=centre if zrange is None else None,
            zmin=low,
            zmax=high,
            colorbar=dict(title=label),
            hovertemplate="step %{y}<br>unit %{x}<br>"
            + label
            + " %{z:.4f}<extra></extra>",
        )
    )
    for step in markers:
        figure.add_hline(y=step, line=dict(color=MARKER_COLOR, width=2, dash="dot"))
    figure.update_yaxes(title="step", autorange="reversed")
    figure.update_xaxes(title="unit")
    return _layout(figure, title, height)


def step_line(
    values, title, y_title, markers=(), height=300, log_y=False, y_range=None
):
    """One value per step, with the marker steps as vertical lines; `y_range`
    `(low, high)` fixes the y axis (default: from the values)."""
    values = np.asarray(values, dtype=np.float64)
    figure = go.Figure(
        go.Scatter(
            x=np.arange(len(values)),
            y=values,
            mode="lines",
            hovertemplate="step %{x}<br>%{y:.4g}<extra></extra>",
        )
    )
    for step in markers:
        figure.add_vline(x=step, line=dict(color=MARKER_COLOR, width=2, dash="dot"))
    figure.update_xaxes(title="step")
    figure.update_yaxes(title=y_title, type="log" if log_y else "linear", range=y_range)
    return _layout(figure, title, height)


def boundary_probe(sweep, crossing=None, height=420):
    """Mean P(L > 500) per length with a band of one standard deviation, and
    the accuracy per length.

    Args:
        sweep: DataFrame with columns `length`, `mean`, `std`, `accuracy`.
        crossing: the length where the mean crosses 0.5, or None.
    """
    length = sweep["length"].to_numpy()
    mean, std = sweep["mean"].to_numpy(), sweep["std"].to_numpy()
    figure = go.Figure(
        [
            go.Scatter(
                x=np.concatenate([length, length[::-1]]),
                y=np.concatenate([mean + std, (mean - std)[::-1]]),
                fill="toself",
                line=dict(width=0),
                fillcolor="rgba(214, 39, 40, 0.2)",
                hoverinfo="skip",
                name="mean ± 1 sd",
            ),
            go.Scatter(
                x=length,
                y=mean,
                mode="lines+markers",
                line=dict(color=RWA_COLOR),
                name="mean P(L > 500)",
                hovertemplate="L %{x}<br>P %{y:.3f}<extra></extra>",
            ),
            go.Scatter(
                x=length,
                y=sweep["accuracy"],
                mode="lines",
                line=dict(color="gray", dash="dash"),
                name="accuracy",
                hovertemplate="L %{x}<br>accuracy %{y:.2f}<extra></extra>",
            ),
        ]
    )
    figure.add_hline(y=0.5, line=dict(color="black", width=1))
    figure.add_vline(x=500.5, line=dict(color="black", width=1, dash="dot"))
    if crossing is not None:
        figure.add_vline(
            x=crossing,
            line=dict(color=RWA_COLOR, width=2),
            annotation_text=f"crosses 0.5 at L ≈ {crossing:.1f}",
        )
    figure.update_xaxes(title="sequence length L")
    figure.update_yaxes(title="P(L > 500), accuracy", range=[-0.05, 1.05])
    return _layout(figure, "Boundary probe", height)


# Colours by model kind: reds for the RWA family, blues for the LSTM family.
# Within one plot, the training length picks the line style: the shortest
# solid, the next dotted, and so on.
LENGTH_DASHES = ("solid", "dot", "dashdot", "longdash")
BASELINE_LABELS = {"length": "always 0.5 (chance)", "adding": "always 1.0 (MSE 1/6)"}
KIND_COLORS = {
    "rwa": RWA_COLOR,
    "stacked-rwa": "#ff7f0e",
    "lstm": LSTM_COLOR,
    "lstm-attention": "#17becf",
}


def learning_curves(histories, task, baseline, batch_sizes=(), height=480):
    """Validation metric against step, one line per checkpoint, with the
    step where each first passed the task's threshold marked.

    Args:
        histories: list of `(name, kind, training length or None, history
            DataFrame, threshold step or None)`.
        task: "length" (accuracy, linear axis) or "adding" (MSE, log axis).
        baseline: the trivial model's value, drawn as a dashed line; the
            task's threshold is a dotted one.
        batch_sizes: the runs' batch sizes; one size is named on the x axis.
    """
    figure = go.Figure()
    lengths = sorted(
        {length for _, _, length, _, _ in histories},
        key=lambda length: (length is None, length or 0),
    )
    for name, kind, length, history, reached in histories:
        color = KIND_COLORS.get(kind, "gray")
        dash = LENGTH_DASHES[lengths.index(length) % len(LENGTH_DASHES)]
        figure.add_trace(
            go.Scatter(
                x=history["step"],
                y=history["val_metric"],
                mode="lines",
                name=name,
                line=dict(color=color, dash=dash),
                hovertemplate=name + "<br>step %{x}<br>%{y:.4g}<extra></extra>",
            )
        )
        if reached is not None:
            value = history.loc[history["step"] == reached, "val_metric"].iloc[0]
            figure.add_trace(
                go.Scatter(
                    x=[reached],
                    y=[value],
                    mode="markers",
                    marker=dict(color=color, size=11, symbol="star"),
                    name=f"{name} reaches threshold at {reached}",
                    showlegend=False,
                    hovertemplate=f"{name} passes the threshold at step {reached}"
                    "<extra></extra>",
                )
            )
    log = task == "adding"
    threshold = THRESHOLDS[task][2]
    for name, value, label, dash in (
        ("baseline", baseline, BASELINE_LABELS[task], "dash"),
        ("threshold", threshold, f"threshold {threshold:g}", "dot"),
    ):
        figure.add_hline(y=value, name=name, line=dict(color="gray", dash=dash))
        # Note: a label of `add_hline` lands at the wrong height on a log
        # axis, whose annotations take log10 of the value.
        figure.add_annotation(
            x=1,
            xref="x domain",
            y=np.log10(value) if log else value,
            text=label,
            showarrow=False,
            xanchor="right",
            yanchor="bottom",
            font=dict(color="gray"),
        )
    batch_sizes = set(batch_sizes)
    batch = f" (batch of {batch_sizes.pop()})" if len(batch_sizes) == 1 else ""
    figure.update_xaxes(title=f"training step{batch}")
    if log:
        # One tick per power of ten: 1, 0.1, 0.01, …
        figure.update_yaxes(
            title="validation MSE", type="log", dtick=1, exponentformat="power"
        )
    else:
        figure.update_yaxes(title="validation accuracy")
    return _layout(figure, f"{task.capitalize()} task", height)
