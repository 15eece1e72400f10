"""Training curves: how fast each model learned, next to the paper's numbers."""

import pandas as pd
import streamlit as st

import ui
from rwa import analysis, plots, report
from rwa.checkpoint import CheckpointError, read_history

ui.setup_page("Training curves")
st.title("Training curves")
st.caption(
    "Validation accuracy (length task) or MSE (adding task) against training "
    "step for every shipped checkpoint. A star marks the first evaluation past "
    "the threshold (dotted line): accuracy ≥ 0.99, or MSE < 0.01; the dashed "
    "line is the trivial answer's score. Colour tells the model "
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
            history = read_history(row["path"])
        except CheckpointError as error:
            st.error(f"{row['name']}: cannot read its history: {error}")
            continue
        reached = analysis.steps_to_threshold(history, task)
        length = row["length"]
        histories.append((row["name"], row["model"], length, history, reached))
        table.append(
            {
                "checkpoint": row["name"],
                "task": task if task == "length" else f"adding T={length or '?'}",
                "batch": row["batch_size"],
                "steps trained": row["steps"],
                "steps to threshold": reached,
                "paper": report.PAPER_STEPS.get((row["model"], task, length)),
            }
        )
    if histories:
        batches = {row["batch_size"] for row in rows if row["task"] == task}
        st.plotly_chart(
            plots.learning_curves(histories, task, BASELINES[task], batches),
            key=f"curves_{task}",
        )

st.subheader("Steps to threshold: ours and the paper's")
table = pd.DataFrame(table)
if len(table):
    counts = ["batch", "steps trained", "steps to threshold", "paper"]
    table[counts] = table[counts].astype("Int64")
st.dataframe(table, hide_index=True)
st.caption(
    "None: not reached (ours) or not reported (paper). The paper's numbers "
    "come from the authors' logs with batches of 100 (Ostmeyer & Cowell 2017)."
)
