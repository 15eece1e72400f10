"""Training curves: how fast each model learned, next to the paper's numbers."""

import pandas as pd
import streamlit as st

import ui
from rwa import analysis, plots, report
from rwa.checkpoint import history_path

ui.setup_page("Training curves")
st.title("Training curves")
st.caption(
    "Validation accuracy (length task) or MSE (adding task) against training "
    "step for every shipped checkpoint. A star marks the first evaluation past "
    "the threshold: accuracy ≥ 0.99, or MSE < 0.01. Colour tells the model "
    "kind and line style the training length: solid for the shortest (T = 100 "
    "on the adding plot), dotted for the next."
)

BASELINES = {"length": 0.5, "adding": analysis.TRIVIAL_ADDING_MSE}
rows = ui.checkpoints()
if not rows:
    st.warning(f"No checkpoints found in {ui.CHECKPOINT_FOLDER}.")
    st.stop()

table = []
for task in ("length", "adding"):
    histories = []
    for row in rows:
        if row["task"] != task:
            continue
        try:
            history = pd.read_csv(history_path(row["path"]))
            reached = analysis.steps_to_threshold(history, task)
        except (OSError, ValueError, KeyError) as error:
            st.error(f"{row['name']}: cannot read its history ({error!r})")
            continue
        histories.append((row["name"], row["model"], row["length"], history, reached))
        paper = report.PAPER_STEPS.get((row["model"], task, row["length"]))
        table.append(
            {
                "checkpoint": row["name"],
                "task": task if task == "length" else f"adding T={row['length']}",
                "steps trained": row["steps"],
                "steps to threshold": reached,
                "paper": paper,
            }
        )
    if histories:
        st.plotly_chart(
            plots.learning_curves(histories, task, BASELINES[task]),
            key=f"curves_{task}",
        )

st.subheader("Steps to threshold: ours and the paper's")
st.dataframe(pd.DataFrame(table), hide_index=True)
st.caption(
    "Empty: not reached (ours) or not reported (paper). The paper's numbers "
    "come from the authors' logs with batches of 100 (Ostmeyer & Cowell 2017)."
)
