"""Compare: one input through two checkpoints, side by side."""

import numpy as np
import streamlit as st

import ui
from rwa import analysis, plots

ui.setup_page("Compare")
st.title("Compare two models")
st.caption(
    "The same input through two checkpoints of one task: their answers, their "
    "states on the same time axis and colour scale, and how far each state "
    "moves per step, on one y axis."
)


def default_pair(rows):
    """Indices of the two checkpoints the page starts with: an RWA and the
    LSTM trained on the same length, else the first two."""
    kinds = [(row["model"], row["length"]) for row in rows]
    for index, (kind, length) in enumerate(kinds):
        if kind == "rwa" and ("lstm", length) in kinds:
            return index, kinds.index(("lstm", length))
    return 0, 1


task = ui.linked(st.radio, "Task", ["length", "adding"], horizontal=True, key="task")
rows = ui.checkpoints(task=task)
if len(rows) < 2:
    st.warning(f"Comparing needs two {task} checkpoints; found {len(rows)}.")
    st.stop()
# Each task keeps its own pair (and its own URL keys), so switching the task
# and back restores the pair.
sides = []
for column, side, label, index in zip(
    st.columns(2), ("a", "b"), ("Left model", "Right model"), default_pair(rows)
):
    with column:
        ckpt = ui.choose_checkpoint(
            task, key=f"{task}_{side}", label=label, index=index
        )
        layer = 0 if ckpt is None else ui.choose_layer(ckpt, key=f"{side}_layer")
    sides.append((ckpt, side, layer))
if any(ckpt is None for ckpt, *_ in sides):
    st.stop()
first, second = (ckpt for ckpt, *_ in sides)
if first.path == second.path:
    st.info("Both sides show the same checkpoint; pick another on one side.")

example = ui.example_input(first, prefix="cmp_")
if example is None:
    st.stop()
if example.length == 0:
    st.info("An empty sequence has no states to compare.")
    st.stop()

if task == "length":
    relation = "longer than" if example.target else "not longer than"
    st.write(f"L = {example.length}: {relation} 500")
else:
    st.write(f"True sum {example.target:.4f}")
stride = ui.stride_for(example.length)
steps = np.arange(0, example.length, stride)
ui.stride_note(stride, example.length)
runs = []
for ckpt, side, layer in sides:
    prediction, trace = ui.run(ckpt, example, layer)
    runs.append((ckpt, side, layer, prediction, trace["h"]))
# One colour scale and one y axis for both, so that sizes compare by eye.
reach = max(float(np.abs(h).max()) for *_, h in runs) or 1.0
changes = [analysis.state_change(h) for *_, h in runs]
top = max(float(change.max()) for change in changes) * 1.05 or 1.0
for column, (ckpt, side, layer, prediction, h), change in zip(
    st.columns(2), runs, changes
):
    with column:
        error = prediction - example.target
        if task == "length":
            label = "P(L > 500)"
            verdict = "right" if (prediction > 0.5) == bool(example.target) else "wrong"
            verdict = f"{verdict}, error {error:+.4f}"
        else:
            label = "Predicted sum"
            verdict = f"error {error:+.4f}"
        st.metric(
            f"{label} · {ckpt.path.stem}",
            f"{prediction:.4f}",
            verdict,
            delta_color="off",
            delta_arrow="off",
        )
        if task == "adding":
            trained = ckpt.metadata.get("length") or "?"
            note = f"Trained on T = {trained}"
            if trained != example.length:
                note += f"; this input: T = {example.length}"
            st.caption(note)
        layer_name = f", RWA layer {layer + 1}" if ckpt.num_recurrent_layers > 1 else ""
        st.plotly_chart(
            plots.state_heatmap(
                h[::stride],
                title=f"{ckpt.path.stem} ({ckpt.model_kind}{layer_name})",
                markers=example.markers,
                steps=steps,
                zrange=(-reach, reach),
            ),
            key=f"{side}_heatmap",
        )
        st.plotly_chart(
            plots.step_line(
                change,
                "State change per step",
                "‖h_t − h_(t−1)‖",
                markers=example.markers,
                y_range=(0, top),
            ),
            key=f"{side}_change",
        )
