import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import rwa
from rwa import tasks
from rwa.checkpoint import CheckpointError, atomic_path, read_history


@pytest.fixture(scope="module")
def adding_rwa(tiny_checkpoints):
    return rwa.load_checkpoint(tiny_checkpoints["rwa", "adding"])


def test_attributes(tiny_checkpoints):
    for (model, task), path in tiny_checkpoints.items():
        ckpt = rwa.load_checkpoint(path)
        assert (ckpt.task, ckpt.model_kind) == (task, model)
        assert ckpt.metadata["task"] == task
        assert ckpt.units == 250


def test_predict_with_lengths_matches_each_sequence_alone(tiny_checkpoints):
    ckpt = rwa.load_checkpoint(tiny_checkpoints["rwa", "length"])
    examples = [tasks.length_example(n, seed=n) for n in (30, 0, 7)]
    x = np.zeros((3, 30, 1), dtype=np.float32)
    for row, example in zip(x, examples):
        row[: example.length] = example.values
    batched = ckpt.predict(x, lengths=[30, 0, 7])
    assert batched.shape == (3,)
    assert ((batched > 0) & (batched < 1)).all()
    for got, example in zip(batched, examples):
        alone = ckpt.predict(example.values[None])
        np.testing.assert_allclose(got, alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["rwa", "lstm"])
def test_trace_shapes_and_agreement_with_predict(tiny_checkpoints, model):
    ckpt = rwa.load_checkpoint(tiny_checkpoints[model, "adding"])
    example = tasks.adding_example(15, (2, 9), seed=1)
    trace = ckpt.trace(example.values[None])
    expected = {"h", "a", "n", "d", "m"} if model == "rwa" else {"h"}
    assert set(trace) == expected
    for value in trace.values():
        assert value.shape == (1, 15, 250)
    head = ckpt.model.get_layer("head")
    from_trace = head(trace["h"][:, -1]).numpy()[:, 0]
    np.testing.assert_allclose(
        from_trace, ckpt.predict(example.values[None]), rtol=1e-5, atol=1e-6
    )


def test_rwa_trace_attention_sums_to_one(adding_rwa):
    trace = adding_rwa.trace(tasks.adding_example(20, (0, 5)).values[None])
    a, m, d = trace["a"][0], trace["m"][0], trace["d"][0]
    weights = np.exp(np.float64(a) - m[-1]) / d[-1]
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-5)


def test_trace_of_empty_sequence(tiny_checkpoints):
    ckpt = rwa.load_checkpoint(tiny_checkpoints["rwa", "length"])
    assert ckpt.trace(np.zeros((1, 0, 1), np.float32))["h"].shape == (1, 0, 250)
    p_empty = ckpt.predict(np.zeros((1, 0, 1), np.float32))
    p_masked = ckpt.predict(np.ones((1, 4, 1), np.float32), lengths=[0])
    np.testing.assert_allclose(p_empty, p_masked, rtol=1e-6)


@pytest.mark.parametrize(
    "x, lengths, message",
    [
        (np.zeros((2, 5)), None, r"x.*shape \(batch, steps, 2\)"),
        (np.zeros((2, 5, 1)), None, r"x.*shape \(batch, steps, 2\)"),
        (np.full((1, 5, 2), np.nan), None, "x.*finite"),
        (np.zeros((2, 5, 2)), [5], "lengths.*2 integers"),
        (np.zeros((2, 5, 2)), [5, 6], r"lengths.*\[0, 5\]"),
        (np.zeros((2, 5, 2)), [1.5, 2.0], "lengths.*integers"),
    ],
)
def test_bad_inputs(adding_rwa, x, lengths, message):
    with pytest.raises(ValueError, match=message):
        adding_rwa.predict(x, lengths)


def test_missing_truncated_and_foreign_files(tiny_checkpoints, tmp_path):
    source = tiny_checkpoints["rwa", "adding"]

    with pytest.raises(CheckpointError, match="nothing.keras: file not found"):
        shutil.copy(source.with_suffix(".json"), tmp_path / "nothing.json")
        rwa.load_checkpoint(tmp_path / "nothing.keras")

    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(source.read_bytes()[:5000])
    shutil.copy(source.with_suffix(".json"), truncated.with_suffix(".json"))
    with pytest.raises(CheckpointError, match="truncated.keras: not a Keras"):
        rwa.load_checkpoint(truncated)

    foreign = tmp_path / "foreign.keras"
    foreign.write_text("hello")
    shutil.copy(source.with_suffix(".json"), foreign.with_suffix(".json"))
    with pytest.raises(CheckpointError, match="foreign.keras"):
        rwa.load_checkpoint(foreign)

    no_json = tmp_path / "no_json.keras"
    shutil.copy(source, no_json)
    with pytest.raises(CheckpointError, match="no_json.json: metadata file not found"):
        rwa.load_checkpoint(no_json)

    no_json.with_suffix(".json").write_text("{broken")
    with pytest.raises(CheckpointError, match="no_json.json: not valid JSON"):
        rwa.load_checkpoint(no_json)

    no_json.with_suffix(".json").write_text(json.dumps({"task": "x", "model": "rwa"}))
    with pytest.raises(CheckpointError, match="field 'task'"):
        rwa.load_checkpoint(no_json)

    mismatched = tmp_path / "mismatched.keras"
    shutil.copy(source, mismatched)
    mismatched.with_suffix(".json").write_text('{"task": "length", "model": "rwa"}')
    with pytest.raises(CheckpointError, match="takes 2 features.*needs 1"):
        rwa.load_checkpoint(mismatched)

    with pytest.raises(CheckpointError, match="expected a '.keras' file"):
        rwa.load_checkpoint(source.with_suffix(".json"))


def test_atomic_path_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_fresh_process_gives_identical_predictions(adding_rwa, tmp_path):
    x = tasks.held_out_set("adding", 0, 5, 12).values
    np.save(tmp_path / "x.npy", x)
    script = (
        "import numpy as np, rwa\n"
        f"ckpt = rwa.load_checkpoint({str(adding_rwa.path)!r})\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, "
        f"ckpt.predict(np.load({str(tmp_path / 'x.npy')!r})))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), adding_rwa.predict(x))


def test_trace_of_100000_steps_in_one_call(adding_rwa):
    example = tasks.adding_example(100_000, (3, 99_000), seed=2)
    trace = adding_rwa.trace(example.values[None])
    assert trace["h"].shape == (1, 100_000, 250)
    assert np.isfinite(trace["h"]).all() and np.isfinite(trace["d"]).all()


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "run.csv: missing or unreadable"),
        ("", "run.csv: empty; expected a header step,wall_seconds,loss"),
        ("step,loss\n10,0.5\n", "has columns \\['step', 'loss'\\], expected"),
        (
            "step,wall_seconds,loss,val_loss,val_metric\n10,1.5,0.5,0.4,abc\n",
            "column\\(s\\) \\['val_metric'\\] hold values that are not numbers",
        ),
    ],
    ids=["missing", "empty", "other columns", "text"],
)
def test_read_history_names_what_is_wrong(tmp_path, text, message):
    if text is not None:
        (tmp_path / "run.csv").write_text(text)
    with pytest.raises(CheckpointError, match=message):
        read_history(tmp_path / "run.keras")


def test_read_history_of_a_trained_run(tiny_checkpoints):
    history = read_history(tiny_checkpoints["rwa", "adding"])
    assert list(history["step"]) == list(range(2, 21, 2))
    assert history["val_metric"].dtype == np.float64
