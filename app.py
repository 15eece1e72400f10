"""RWA Lab's home page: what RWA is, the checkpoints, the pages.

streamlit run app.py
"""

import pandas as pd
import streamlit as st

import ui
from rwa.checkpoint import find_checkpoints

ui.setup_page("Home")
st.title("RWA Lab")
st.write(
    "The Recurrent Weighted Average network (Ostmeyer & Cowell 2017, "
    "[arXiv:1703.01253](https://arxiv.org/abs/1703.01253)) keeps as its state "
    "an average of features over every step so far, each weighted by an "
    "attention term exp(a_t). These pages run the trained RWA and LSTM models "
    "shipped in `checkpoints/` on inputs you choose and show what their "
    "250-unit state does."
)

st.subheader("The RWA")
st.latex(r"h_0 = \tanh(s_0), \quad n_0 = d_0 = 0")
st.latex(
    r"u_t = x_t W_u + b_u, \quad g_t = [x_t, h_{t-1}] W_g + b_g, "
    r"\quad a_t = [x_t, h_{t-1}] W_a"
)
st.latex(
    r"z_t = u_t \odot \tanh(g_t), \quad n_t = n_{t-1} + z_t \odot e^{a_t}, "
    r"\quad d_t = d_{t-1} + e^{a_t}, \quad h_t = \tanh(n_t / d_t)"
)
st.caption(
    "Computed with a running maximum of a_t so that exp never overflows "
    "(appendix B of the paper)."
)

st.subheader("Pages")
for path, title in ui.PAGES[1:]:
    st.page_link(path, label=title)


st.subheader("Checkpoints")
rows = find_checkpoints(ui.CHECKPOINT_FOLDER)
good = [row for row in rows if row["error"] is None]
if good:
    table = pd.DataFrame(good)
    table["quality"] = [ui.quality_label(row) for row in good]
    st.dataframe(
        table[["name", "task", "model", "length", "steps", "quality", "date"]],
        hide_index=True,
    )
    st.caption(
        "Quality: accuracy or MSE on 2000 fresh sequences (`python -m "
        "rwa.evaluate`), or else the last validation metric of training."
    )
else:
    st.warning(f"No checkpoints found in {ui.CHECKPOINT_FOLDER}.")
for row in rows:
    if row["error"] is not None:
        st.error(f"{row['name']}: {row['error']}")

st.caption(f"Inference runs on {ui.device_name()}.")
