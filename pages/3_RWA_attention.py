"""Attention: how much each step weighs in the model's answer."""

import numpy as np
import streamlit as st

import ui
from rwa import analysis, plots

ui.setup_page("Attention")
st.title("Attention")
st.caption(
    "The RWA state is an average over all steps weighted by exp(a_t): for an "
    "RWA model this page shows the weight exp(a_t) / Σ_s exp(a_s) of each step "
    "t in the state at the last step, for every unit. An LSTM with attention "
    "pools its outputs with one learned weight per step, shown as a line."
)

ckpt = ui.choose_checkpoint(
    model=("rwa", "stacked-rwa", "lstm-attention"), key="att_model"
)
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
if ckpt.model_kind == "lstm-attention":
    weight = trace["attention"]
    title = "Pooling weight of each step"
else:
    weights = analysis.attention_weights(trace["a"], trace["m"], trace["d"])
    weight = weights.mean(axis=1)
    title = "Mean weight over units"
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
    ui.stride_note(stride, example.length)
st.plotly_chart(
    plots.step_line(weight, title, "weight", markers=example.markers, log_y=True),
    key="mean",
)
top = sorted(analysis.top_steps(weight, 2))
if example.markers and top == sorted(example.markers):
    st.success(f"The weight peaks at the two markers (steps {top}).")
else:
    st.write(f"The two heaviest steps are {top}.")
