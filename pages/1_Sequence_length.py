"""Sequence length: how does the model decide whether L > 500?"""

import numpy as np
import streamlit as st

import ui
from rwa import analysis, plots, tasks

ui.setup_page("Sequence length")
st.title("Sequence length")
st.caption("Is the sequence longer than 500 steps? Pick L and watch the state.")

ckpt = ui.choose_checkpoint(task="length", key="len_model")
if ckpt is None:
    st.stop()
layer = ui.choose_layer(ckpt)
example = ui.length_input(prefix="len_")
if example is None:
    st.stop()

probability, trace = ui.run(ckpt, example, layer)
verdict = probability > 0.5
right = verdict == bool(example.target)
columns = st.columns(3)
columns[0].metric("P(L > 500)", f"{probability:.4f}")
columns[1].metric("Verdict", "longer than 500" if verdict else "500 or shorter")
columns[2].metric(f"L = {example.length}", "right" if right else "wrong")

if example.length:
    stride = ui.stride_for(example.length)
    st.plotly_chart(
        plots.state_heatmap(
            trace["h"][::stride],
            title=f"State h of {ckpt.path.stem} (time × {ckpt.units} units)",
            steps=np.arange(0, example.length, stride),
        ),
        key="heatmap",
    )
else:
    st.info("L = 0: the model answers from its learned initial state h₀ alone.")

st.header("Boundary probe")
st.caption(
    "Run several random sequences of each length through the model: where does "
    "the mean P(L > 500) cross 0.5?"
)
with st.form("probe"):
    columns = st.columns(4)
    low = columns[0].number_input("From L", 0, tasks.LENGTH_MAX, 450, key="low")
    high = columns[1].number_input("To L", 0, tasks.LENGTH_MAX, 550, key="high")
    step = columns[2].number_input("Every", 1, 100, 5, key="every")
    per_length = columns[3].number_input("Sequences per length", 1, 200, 20)
    submitted = st.form_submit_button("Run probe")
if submitted:
    lengths = np.arange(low, high + 1, step)
    if len(lengths) < 2:
        st.error(f"Pick a range with at least two lengths; got {low} to {high}.")
        st.stop()
    bar = st.progress(0.0, text="Probing…")
    sweep, _ = analysis.length_sweep(
        ckpt.predict, lengths, per_length, seed=0, progress=bar.progress
    )
    bar.empty()
    crossing = analysis.crossing_point(sweep["length"], sweep["mean"])
    st.plotly_chart(plots.boundary_probe(sweep, crossing), key="probe_chart")
    if crossing is None:
        st.write("The mean P(L > 500) does not cross 0.5 in this range.")
    else:
        st.metric("Mean P crosses 0.5 at L ≈", f"{crossing:.1f}")
    st.dataframe(sweep.round(4), hide_index=True)
