"""Every page of the app, run by Streamlit's AppTest on tiny checkpoints."""

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import rwa
from rwa import analysis, tasks

ROOT = Path(__file__).parent.parent
PAGES = [
    "app.py",
    "pages/1_Sequence_length.py",
    "pages/2_Adding_problem.py",
    "pages/3_RWA_attention.py",
    "pages/4_Training_curves.py",
    "pages/5_Compare.py",
]

TINY_NAMES = {"rwa_adding", "rwa_length", "lstm_adding", "lstm_length"}


@pytest.fixture
def folder(tiny_checkpoints, tmp_path, monkeypatch):
    """A checkpoint folder holding the tiny checkpoints, for the app to list."""
    # Imported before the variable is set, so that undoing the patch gives
    # the later tests the folder they would see without it.
    import ui

    for source in tiny_checkpoints.values():
        for suffix in (".keras", ".json", ".csv"):
            shutil.copy(source.with_suffix(suffix), tmp_path)
    monkeypatch.setenv("RWA_LAB_CHECKPOINTS", str(tmp_path))
    monkeypatch.setattr(ui, "CHECKPOINT_FOLDER", tmp_path)
    return tmp_path


def run_page(page, query=None):
    """Runs `page` the way `streamlit run app.py` serves it."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if page != "app.py":
        app.switch_page(page)
    app.query_params.update(query or {})
    return app.run()


def metrics(app):
    return {metric.label: metric.value for metric in app.metric}


def figures(app):
    """The Plotly figures on the page, in order, as dicts."""
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def array(value):
    """An array from a figure's JSON, where Plotly may store it as base64."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"])
    return np.asarray(value)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_defaults(folder, page):
    app = run_page(page)
    assert not app.exception
    assert not app.error


def test_home_lists_checkpoints_and_device(folder):
    (folder / "rwa_adding.eval.json").write_text('{"mse": 0.00123}')
    app = run_page("app.py")
    table = app.dataframe[0].value.set_index("name")
    assert set(table.index) == TINY_NAMES
    assert table.loc["rwa_adding", "quality"] == "test MSE 0.00123"
    assert table.loc["lstm_adding", "quality"].startswith("validation MSE ")
    assert len(app.latex) == 3
    assert any("Inference runs on CPU" in caption.value for caption in app.caption)


def test_length_page_numbers_follow_the_input(folder):
    app = run_page(
        "pages/1_Sequence_length.py", {"len_model": "rwa_length", "len_L": "420"}
    )
    ckpt = rwa.load_checkpoint(folder / "rwa_length.keras")
    expected = ckpt.predict(tasks.length_example(420, seed=0).values[None])[0]
    assert metrics(app)["P(L > 500)"] == f"{expected:.4f}"
    assert "L = 420" in metrics(app)
    assert app.slider(key="len_L_slider").value == 420

    app.number_input(key="len_L").set_value(700).run()
    assert "L = 700" in metrics(app)
    assert app.slider(key="len_L_slider").value == 700
    app.slider(key="len_L_slider").set_value(0).run()
    assert not app.exception and "L = 0" in metrics(app)
    assert app.info


def test_length_page_upload(folder):
    app = run_page("pages/1_Sequence_length.py")
    app.file_uploader[0].upload("values.csv", b"value\n0.5\n-1\n2\n").run()
    assert "L = 3" in metrics(app)
    app.file_uploader[0].upload("bad.csv", b"1,2\n3,4\n").run()
    assert not app.exception
    assert "one column" in app.error[0].value
    app.file_uploader[0].upload("big.csv", b"1\n" * 1001).run()
    assert "holds 1,001 numbers; at most 1,000" in app.error[0].value


def test_boundary_probe(folder):
    app = run_page("pages/1_Sequence_length.py", {"len_model": "rwa_length"})
    app.number_input(key="low").set_value(490)
    app.number_input(key="high").set_value(510)
    app.number_input(key="every").set_value(10)
    app.button[0].click().run()
    assert not app.exception
    sweep = app.dataframe[0].value
    assert sweep["length"].tolist() == [490, 500, 510]
    app.number_input(key="high").set_value(490)
    app.button[0].click().run()
    assert "at least two lengths" in app.error[0].value


def test_adding_page_numbers_and_bad_markers(folder):
    query = {"model": "rwa_adding", "T": "30", "m1": "3", "m2": "20", "seed": "4"}
    app = run_page("pages/2_Adding_problem.py", query)
    example = tasks.adding_example(30, (3, 20), seed=4)
    ckpt = rwa.load_checkpoint(folder / "rwa_adding.keras")
    prediction = ckpt.predict(example.values[None])[0]
    shown = metrics(app)
    assert shown["True sum"] == f"{example.target:.4f}"
    assert shown["Predicted sum"] == f"{prediction:.4f}"
    assert len(app.dataframe) == 2  # units moved most at each marker

    app.number_input(key="m2").set_value(3).run()
    assert "different" in app.error[0].value and not app.exception
    app.number_input(key="m2").set_value(30).run()
    assert "markers[1]" in app.error[0].value
    app.number_input(key="T").set_value(1).run()
    assert "between 2 and 5000" in app.error[0].value
    app.number_input(key="T").set_value(5000)
    app.number_input(key="m2").set_value(4999).run()
    assert not app.error and not app.exception


def test_adding_page_typed_values(folder):
    app = run_page("pages/2_Adding_problem.py", {"T": "20", "m1": "1", "m2": "2"})
    app.toggle[0].set_value(True).run()
    app.number_input(key="v1").set_value(0.25)
    app.number_input(key="v2").set_value(1.0).run()
    assert metrics(app)["True sum"] == "1.2500"


def test_attention_page_says_peak_only_when_it_is_one(folder):
    query = {"att_model": "rwa_adding", "att_T": "40", "att_m1": "5", "att_m2": "30"}
    app = run_page("pages/3_RWA_attention.py", query)
    assert not app.exception
    ckpt = rwa.load_checkpoint(folder / "rwa_adding.keras")
    trace = ckpt.trace(tasks.adding_example(40, (5, 30)).values[None])
    weights = analysis.attention_weights(trace["a"][0], trace["m"][0], trace["d"][0])
    peaks = sorted(analysis.top_steps(weights.mean(axis=1), 2)) == [5, 30]
    assert bool(app.success) == peaks
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-6)


# Steps to threshold of every shipped checkpoint, ours and the paper's, as
# checkpoints/README.md reports them (None: not reached, or not reported).
SHIPPED_THRESHOLDS = {
    "lstm_length": (None, 3900),
    "rwa_length": (400, 1300),
    "lstm_adding_100": (5250, 3500),
    "lstm_adding_1000": (None, 16500),
    "lstm_attention_adding_100": (950, None),
    "lstm_attention_adding_1000": (1500, None),
    "rwa_adding_100": (800, 800),
    "rwa_adding_1000": (1500, 1400),
    "stacked_rwa_adding_100": (750, None),
    "stacked_rwa_adding_1000": (1400, None),
}


@pytest.fixture
def shipped(monkeypatch):
    """Points the app at the shipped checkpoints."""
    import ui

    folder = ROOT / "checkpoints"
    missing = [
        name for name in SHIPPED_THRESHOLDS if not (folder / f"{name}.keras").exists()
    ]
    if missing:
        pytest.skip(f"needs the shipped checkpoints {missing}")
    monkeypatch.setattr(ui, "CHECKPOINT_FOLDER", folder)
    return folder


def test_attention_page_says_when_a_trained_model_peaks_at_the_markers(shipped):
    """The shipped LSTM with attention at T = 1000 pools mostly the two marked
    steps, and the page says so."""
    name = "lstm_attention_adding_1000"
    query = {"att_model": name, "att_T": "1000", "att_m1": "100", "att_m2": "600"}
    app = run_page("pages/3_RWA_attention.py", query)
    assert not app.exception and not app.error
    assert "peaks at the two markers (steps [100, 600])" in app.success[0].value


def test_attention_page_lists_the_kinds_with_attention(folder):
    app = run_page("pages/3_RWA_attention.py")
    assert set(app.selectbox(key="att_model").options) == {"rwa_adding", "rwa_length"}


def test_attention_page_shows_the_lstm_pooling_weights(folder):
    from conftest import train_tiny

    train_tiny(folder / "lstm_attention_adding", model="lstm-attention", steps=2,
               eval_every=2)  # fmt: skip
    app = run_page("pages/3_RWA_attention.py")
    assert "lstm_attention_adding" in app.selectbox(key="att_model").options
    query = {"att_model": "lstm_attention_adding", "att_T": "40", "att_m1": "5"}
    app = run_page("pages/3_RWA_attention.py", query | {"att_m2": "30"})
    assert not app.exception and not app.error
    ckpt = rwa.load_checkpoint(folder / "lstm_attention_adding.keras")
    expected = ckpt.trace(tasks.adding_example(40, (5, 30)).values[None])["attention"]
    (line,) = figures(app)  # no per-unit heatmap: one weight per step
    np.testing.assert_allclose(array(line["data"][0]["y"]), expected[0], rtol=1e-6)
    peaks = sorted(analysis.top_steps(expected[0], 2)) == [5, 30]
    assert bool(app.success) == peaks


def test_missing_and_corrupt_checkpoints(folder):
    (folder / "rwa_adding.keras").write_bytes(b"not a model")
    (folder / "lstm_adding.json").unlink()
    app = run_page("app.py")
    assert not app.exception
    assert any("lstm_adding.json" in error.value for error in app.error)
    app = run_page("pages/2_Adding_problem.py", {"model": "rwa_adding"})
    assert not app.exception
    assert "rwa_adding.keras" in app.error[0].value
    app = run_page("pages/1_Sequence_length.py")
    assert not app.exception and not app.error


def test_empty_folder(tmp_path, monkeypatch):
    import ui

    monkeypatch.setattr(ui, "CHECKPOINT_FOLDER", tmp_path)
    monkeypatch.setenv("RWA_LAB_CHECKPOINTS", str(tmp_path))
    for page in PAGES:
        app = run_page(page)
        assert not app.exception
        assert app.warning


def test_training_curves_page(folder):
    app = run_page("pages/4_Training_curves.py")
    assert not app.exception and not app.error
    table = app.dataframe[0].value.set_index("checkpoint")
    assert set(table.index) == TINY_NAMES
    assert table.loc["rwa_adding", "steps trained"] == 20
    assert (table["batch"] == 20).all()
    counts = ["batch", "steps trained", "steps to threshold", "paper"]
    assert (table.dtypes[counts] == "Int64").all()  # 800, not 800.0
    length, adding = figures(app)
    assert adding["layout"]["xaxis"]["title"]["text"] == "training step (batch of 20)"
    assert adding["layout"]["yaxis"]["type"] == "log"
    assert {trace["name"] for trace in adding["data"]} >= {"rwa_adding", "lstm_adding"}


def test_training_curves_without_a_training_length(folder):
    metadata = json.loads((folder / "lstm_adding.json").read_text())
    del metadata["length"]
    metadata["batch_size"] = "twenty"
    (folder / "lstm_adding.json").write_text(json.dumps(metadata))
    app = run_page("pages/4_Training_curves.py")
    assert not app.exception and not app.error
    table = app.dataframe[0].value.set_index("checkpoint")
    assert table.loc["lstm_adding", "task"] == "adding T=?"
    assert "batch of" not in figures(app)[1]["layout"]["xaxis"]["title"]["text"]


def test_compare_page(folder):
    query = {"task": "adding", "adding_a": "rwa_adding", "adding_b": "lstm_adding"}
    app = run_page(
        "pages/5_Compare.py", query | {"cmp_T": "12", "cmp_m1": "2", "cmp_m2": "9"}
    )
    assert not app.exception and not app.error
    example = tasks.adding_example(12, (2, 9))
    shown = metrics(app)
    for name in ("rwa_adding", "lstm_adding"):
        ckpt = rwa.load_checkpoint(folder / f"{name}.keras")
        expected = ckpt.predict(example.values[None])[0]
        assert shown[f"Predicted sum · {name}"] == f"{expected:.4f}"

    # Both heatmaps on one colour scale, both change lines on one y axis.
    heatmaps, lines = figures(app)[0::2], figures(app)[1::2]
    states = [
        rwa.load_checkpoint(folder / f"{name}.keras").trace(example.values[None])["h"]
        for name in ("rwa_adding", "lstm_adding")
    ]
    reach = max(np.abs(h).max() for h in states)
    for heatmap in heatmaps:
        scale = heatmap["data"][0]
        np.testing.assert_allclose([scale["zmin"], scale["zmax"]], [-reach, reach],
                                   rtol=1e-6)  # fmt: skip
    top = max(analysis.state_change(h[0]).max() for h in states) * 1.05
    for line in lines:
        np.testing.assert_allclose(
            line["layout"]["yaxis"]["range"], [0, top], rtol=1e-6
        )

    app.radio(key="task").set_value("length").run()
    assert not app.exception
    assert len(app.metric) == 2
    for metric in app.metric:
        assert re.fullmatch(r"(right|wrong), error [+-]\d\.\d{4}", metric.delta)


def test_compare_page_needs_two_checkpoints(folder):
    (folder / "lstm_length.keras").unlink()
    app = run_page("pages/5_Compare.py", {"task": "length"})
    assert not app.exception
    assert "needs two length checkpoints" in app.warning[0].value


def test_stacked_rwa_layer_choice(folder):
    from conftest import train_tiny

    out = folder / "stacked_rwa_adding"
    train_tiny(out, model="stacked-rwa", steps=2, eval_every=2)
    query = {"model": "stacked_rwa_adding", "T": "12", "m1": "1", "m2": "5"}
    app = run_page("pages/2_Adding_problem.py", query)
    assert not app.exception
    app.selectbox(key="layer").set_value(1).run()
    assert not app.exception and not app.error
    app = run_page("pages/3_RWA_attention.py", {"att_model": "stacked_rwa_adding"})
    assert not app.exception


def test_training_curves_with_a_broken_history(folder):
    (folder / "rwa_adding.csv").write_text("")
    (folder / "lstm_adding.csv").write_text("step,loss\n10,0.5\n")
    history = (folder / "rwa_length.csv").read_text().splitlines()
    history[-1] = history[-1].rsplit(",", 1)[0] + ",abc"
    (folder / "rwa_length.csv").write_text("\n".join(history))
    app = run_page("pages/4_Training_curves.py")
    assert not app.exception
    errors = {error.value.split(":")[0]: error.value for error in app.error}
    assert set(errors) == {"rwa_adding", "lstm_adding", "rwa_length"}
    assert "not numbers" in errors["rwa_length"]


def test_training_curves_on_the_shipped_checkpoints(shipped):
    app = run_page("pages/4_Training_curves.py")
    assert not app.exception and not app.error
    table = app.dataframe[0].value.set_index("checkpoint")
    steps = table[["steps to threshold", "paper"]].astype(object)
    steps = steps.where(steps.notna(), None)
    assert {name: tuple(row) for name, row in steps.iterrows()} == SHIPPED_THRESHOLDS

    # One line per checkpoint, a star where it passed the threshold, the RWA
    # and LSTM families in different colours, the trivial answer as a line.
    traces = {
        trace["name"]: trace for figure in figures(app) for trace in figure["data"]
    }
    for name, (ours, _) in SHIPPED_THRESHOLDS.items():
        assert name in traces
        if ours is not None:
            star = traces[f"{name} reaches threshold at {ours}"]
            assert array(star["x"]).tolist() == [ours]
    colour = {name: traces[name]["line"]["color"] for name in SHIPPED_THRESHOLDS}
    rwa_colours = {colour[name] for name in colour if "rwa" in name}
    lstm_colours = {colour[name] for name in colour if name.startswith("lstm")}
    assert not rwa_colours & lstm_colours
    lines = [
        {shape["name"]: shape["y0"] for shape in figure["layout"]["shapes"]}
        for figure in figures(app)
    ]
    assert lines == [
        {"baseline": 0.5, "threshold": 0.99},
        {"baseline": pytest.approx(1 / 6), "threshold": 0.01},
    ]


def test_compare_shows_the_chosen_layer_of_a_shipped_stacked_rwa(shipped):
    names = ("stacked_rwa_adding_1000", "rwa_adding_1000")
    query = {"task": "adding", "adding_a": names[0], "adding_b": names[1]}
    app = run_page("pages/5_Compare.py", query | {"cmp_m1": "100", "cmp_m2": "600"})
    assert not app.exception and not app.error
    assert [box.label for box in app.selectbox if box.key == "a_layer"] == ["Layer"]
    assert "b_layer" not in [box.key for box in app.selectbox]  # one layer: no choice
    app.selectbox(key="a_layer").set_value(1).run()
    assert not app.exception and not app.error

    example = tasks.adding_example(1000, (100, 600))
    stacked, single = (rwa.load_checkpoint(shipped / f"{name}.keras") for name in names)
    shown = metrics(app)
    for name, ckpt in zip(names, (stacked, single)):
        expected = ckpt.predict(example.values[None])[0]
        assert shown[f"Predicted sum · {name}"] == f"{expected:.4f}"
        # A trained model: within 0.1 of the true sum on this input.
        assert abs(expected - example.target) < 0.1

    heatmap = figures(app)[0]
    assert (
        heatmap["layout"]["title"]["text"] == f"{names[0]} (stacked-rwa, RWA layer 2)"
    )
    z = array(heatmap["data"][0]["z"]).reshape(1000, stacked.units)
    upper, lower = (
        stacked.trace(example.values[None], layer=i)["h"][0] for i in (1, 0)
    )
    np.testing.assert_allclose(z, upper, atol=1e-6)
    assert np.abs(upper - lower).max() > 0.1  # the two layers' states differ


def trained_on(app):
    """The Compare page's notes of each model's training length."""
    return [caption.value for caption in app.caption if "Trained on" in caption.value]


def test_compare_starts_with_rwa_and_lstm_and_keeps_each_tasks_pair(folder):
    app = run_page("pages/5_Compare.py", {"task": "adding"})
    assert not app.exception and not app.error
    assert app.selectbox(key="adding_a").value == "rwa_adding"
    assert app.selectbox(key="adding_b").value == "lstm_adding"
    assert trained_on(app) == ["Trained on T = 12"] * 2

    query = {"task": "adding", "adding_a": "lstm_adding", "adding_b": "rwa_adding"}
    app = run_page("pages/5_Compare.py", query)
    app.radio(key="task").set_value("length").run()
    assert not app.exception and not app.error
    assert app.selectbox(key="length_a").value == "rwa_length"
    app.radio(key="task").set_value("adding").run()
    assert app.selectbox(key="adding_a").value == "lstm_adding"
    assert app.selectbox(key="adding_b").value == "rwa_adding"
    assert "Predicted sum · lstm_adding" in metrics(app)

    app.number_input(key="cmp_T").set_value(30).run()
    assert trained_on(app)[0] == "Trained on T = 12; this input: T = 30"
    app.selectbox(key="adding_b").set_value("lstm_adding").run()
    assert "same checkpoint" in app.info[0].value


def test_link_values_that_cannot_be_used_are_reported(folder):
    query = {"task": "adding", "adding_a": "no_such", "cmp_T": "abc", "cmp_seed": "-1"}
    app = run_page("pages/5_Compare.py", query)
    assert not app.exception and not app.error
    warnings = " ".join(warning.value for warning in app.warning)
    for shown in ("`adding_a=no_such`", "`cmp_T=abc`", "`cmp_seed=-1`"):
        assert shown in warnings
    assert "Showing rwa_adding" in warnings  # what the page shows instead
    app = run_page("pages/2_Adding_problem.py", {"model": "rwa_length", "T": "30"})
    assert not app.exception
    assert [warning.value for warning in app.warning] == [
        "Ignored `model=rwa_length` from the link: not a valid value for “Model”. "
        "Showing lstm_adding."
    ]
    app.number_input(key="T").set_value(40).run()
    assert not app.warning  # only a link just opened is checked


def test_adding_input_follows_the_models_length_and_t(folder):
    # The same tiny model, as if trained on T = 30.
    for suffix in (".keras", ".csv"):
        shutil.copy(folder / f"rwa_adding{suffix}", folder / f"rwa_adding_30{suffix}")
    metadata = json.loads((folder / "rwa_adding.json").read_text())
    (folder / "rwa_adding_30.json").write_text(json.dumps(metadata | {"length": 30}))

    def inputs(app):
        return [app.number_input(key=key).value for key in ("T", "m1", "m2")]

    app = run_page("pages/2_Adding_problem.py", {"model": "rwa_adding"})
    assert inputs(app) == [12, 1, 7]
    app.selectbox(key="model").set_value("rwa_adding_30").run()
    assert inputs(app) == [30, 3, 18]
    app.number_input(key="T").set_value(20).run()
    assert inputs(app) == [20, 3, 18]  # the markers still fit
    app.number_input(key="T").set_value(10).run()
    assert inputs(app) == [10, 1, 6]  # they did not: T's defaults
    assert not app.exception and not app.error


def test_an_infinite_number_in_a_link_stops_the_page_with_a_way_out(folder):
    query = {"len_model": "rwa_length", "len_L": "inf"}
    app = run_page("pages/1_Sequence_length.py", query)
    assert not app.exception
    assert "`len_L=inf` in the link is not a number “L” can take" in app.error[0].value
    links = [text.value for text in app.markdown if "without it" in text.value]
    assert links == ["[Open this page without it](?len_model=rwa_length)"]


def test_long_link_values_and_strided_heatmaps_are_named_briefly(folder):
    app = run_page("pages/2_Adding_problem.py", {"model": "x" * 500, "T": "5000"})
    assert not app.exception
    assert f"`model={'x' * 40}…`" in app.warning[0].value
    notes = [caption.value for caption in app.caption]
    assert "The heatmap shows one step in 3: 1667 of 5000 steps." in notes
