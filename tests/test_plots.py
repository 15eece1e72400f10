import numpy as np
import pandas as pd
import pytest

from rwa import plots


def test_state_heatmap():
    h = np.random.default_rng(0).normal(size=(30, 7))
    figure = plots.state_heatmap(h, markers=(3, 20), steps=np.arange(0, 60, 2))
    heatmap = figure.data[0]
    assert np.asarray(heatmap.z).shape == (30, 7)
    assert heatmap.zmid == 0
    assert list(heatmap.y[:3]) == [0, 2, 4]
    assert "step %{y}" in heatmap.hovertemplate and "unit %{x}" in heatmap.hovertemplate
    assert [shape.y0 for shape in figure.layout.shapes] == [3, 20]
    assert figure.layout.yaxis.autorange == "reversed"

    shared = plots.state_heatmap(h, zrange=(-2.5, 2.5)).data[0]
    assert (shared.zmin, shared.zmax, shared.zmid) == (-2.5, 2.5, None)


def test_step_line_and_probe():
    figure = plots.step_line([0, 1, 2], "t", "y", markers=(1,), log_y=True)
    assert list(figure.data[0].y) == [0, 1, 2]
    assert figure.layout.yaxis.type == "log"
    assert [shape.x0 for shape in figure.layout.shapes] == [1]
    fixed = plots.step_line([0, 1], "t", "y", y_range=(0, 3))
    assert fixed.layout.yaxis.range == (0, 3)

    sweep = pd.DataFrame(
        {"length": [490, 500, 510], "mean": [0.1, 0.4, 0.9], "std": [0.1] * 3,
         "accuracy": [1.0, 0.9, 1.0]}
    )  # fmt: skip
    figure = plots.boundary_probe(sweep, crossing=502.0)
    assert len(figure.data) == 3
    assert any(shape.x0 == 502.0 for shape in figure.layout.shapes)


def test_learning_curves_tell_kind_and_length_apart():
    history = pd.DataFrame({"step": [100, 200, 300], "val_metric": [0.2, 0.005, 0.001]})
    histories = [
        ("rwa_adding_1000", "rwa", 1000, history, 200),
        ("rwa_adding_100", "rwa", 100, history, 200),
        ("lstm_adding_100", "lstm", 100, history, None),
    ]
    figure = plots.learning_curves(histories, "adding", baseline=1 / 6)
    lines = {trace.name: trace.line for trace in figure.data if trace.mode == "lines"}
    assert lines["rwa_adding_100"].color == lines["rwa_adding_1000"].color
    assert lines["rwa_adding_100"].color != lines["lstm_adding_100"].color
    assert lines["rwa_adding_100"].dash == lines["lstm_adding_100"].dash == "solid"
    assert lines["rwa_adding_1000"].dash == "dot"
    stars = [trace for trace in figure.data if trace.mode == "markers"]
    assert [(star.x[0], star.y[0]) for star in stars] == [(200, 0.005)] * 2
    assert figure.layout.yaxis.type == "log"
    assert figure.layout.xaxis.title.text == "training step"


def test_learning_curves_label_the_baseline_and_threshold_at_their_height():
    history = pd.DataFrame({"step": [100, 200], "val_metric": [0.5, 0.995]})
    for task, baseline, threshold, labels in (
        # A log axis places annotations by log10 of the value.
        ("adding", 1 / 6, 0.01, {"always 1.0 (MSE 1/6)": -0.778, "threshold 0.01": -2}),
        ("length", 0.5, 0.99, {"always 0.5 (chance)": 0.5, "threshold 0.99": 0.99}),
    ):
        figure = plots.learning_curves(
            [("a", "rwa", 100, history, None)], task, baseline
        )
        lines = {shape.name: shape.y0 for shape in figure.layout.shapes}
        assert lines == {"baseline": baseline, "threshold": threshold}
        placed = {note.text: note.y for note in figure.layout.annotations}
        assert placed == pytest.approx(labels, abs=1e-3)


def test_learning_curves_with_an_unknown_length_and_one_batch_size():
    history = pd.DataFrame({"step": [100, 200], "val_metric": [0.2, 0.1]})
    histories = [("a", "rwa", None, history, None), ("b", "lstm", 100, history, None)]
    figure = plots.learning_curves(histories, "adding", 1 / 6, batch_sizes=[100, 100])
    assert [trace.line.dash for trace in figure.data] == ["dot", "solid"]
    assert figure.layout.xaxis.title.text == "training step (batch of 100)"
