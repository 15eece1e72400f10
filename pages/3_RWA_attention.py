"""RWA attention: how much each step weighs in the final state."""

import numpy as np
import streamlit as st

import ui
from rwa import analysis, plots

ui.setup_page("RWA attention")
st.title("RWA attention")
st.caption(
    "The RWA state is an average over all steps weighted by exp(a_t). This page "
    "shows the weight exp(a_t) / Σ_s exp(a_s) of each step t in the state at "
    "the last step, for every unit."
)

ckpt = ui.choose_checkpoint(model=("rwa", "stacked-rwa"))
if ckpt is None:
    st.stop()
layer = ui.choose_layer(ckpt)
example = ui.example_input(ckpt, prefix="att_")
if example is None:
    st.stop()
if example.length == 0:
    st.info("An empty sequence has no steps to weigh.")
    st.stop()

_, trace = ui.run(ckpt, example, layer)
weights = analysis.attention_weights(trace["a"], trace["m"], trace["d"])
mean = weights.mean(axis=1)
stride = ui.stride_for(example.length)
st.plotly_chart(
    plots.state_heatmap(
        weights[::stride],
        steps=np.arange(0, example.length, stride),
        title="Weight of step t in the final state (time × units)",
        markers=example.markers,
        label="weight",
        centre=None,
    ),
    key="weights",
)
st.plotly_chart(
    plots.step_line(
        mean, "Mean weight over units", "weight", markers=example.markers, log_y=True
    ),
    key="mean",
)
top = sorted(analysis.top_steps(mean, 2))
if example.markers and top == sorted(example.markers):
    st.success(f"The mean weight peaks at the two markers (steps {top}).")
else:
    st.write(f"The two heaviest steps are {top}.")
