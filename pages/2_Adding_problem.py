"""Adding problem: where do the two markers shift the state?"""

import numpy as np
import streamlit as st

import ui
from rwa import analysis, plots

ui.setup_page("Adding problem")
st.title("Adding problem")
st.caption(
    "Two of T values are marked; the model must output their sum. Pick T, the "
    "markers and the values, and see where the state moves."
)

ckpt = ui.choose_checkpoint(task="adding")
if ckpt is None:
    st.stop()
layer = ui.choose_layer(ckpt)
example = ui.adding_input(default_length=ckpt.metadata.get("length") or 100)
if example is None:
    st.stop()

prediction, trace = ui.run(ckpt, example, layer)
trained = ckpt.metadata.get("length")
columns = st.columns(3)
columns[0].metric("Predicted sum", f"{prediction:.4f}")
columns[1].metric("True sum", f"{example.target:.4f}")
columns[2].metric("Error", f"{prediction - example.target:+.4f}")
if trained and example.length != trained:
    st.caption(f"This model was trained on T = {trained}; here T = {example.length}.")

h = trace["h"]
stride = ui.stride_for(example.length)
st.plotly_chart(
    plots.state_heatmap(
        h[::stride],
        title=f"State h of {ckpt.path.stem}, {ui.marker_note(example)}",
        markers=example.markers,
        steps=np.arange(0, example.length, stride),
    ),
    key="heatmap",
)
ui.stride_note(stride, example.length)
st.plotly_chart(
    plots.step_line(
        analysis.state_change(h),
        "How far the state moves each step",
        "‖h_t − h_(t−1)‖",
        markers=example.markers,
    ),
    key="change",
)

st.subheader("Units that change most at each marker")
for column, marker in zip(st.columns(2), example.markers):
    with column:
        st.write(f"Step {marker}")
        if marker == 0:
            st.caption("Step 0 is the first step: the trace has no earlier state.")
            continue
        st.dataframe(analysis.units_moved_most(h, marker).round(4), hide_index=True)
