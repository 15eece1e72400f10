import json

import numpy as np
import pytest

import rwa
from rwa import evaluate
from rwa.tasks import TEST_STREAM, held_out_set


def test_adding_report(tiny_checkpoints, tmp_path):
    out = tmp_path / "report.json"
    path = tiny_checkpoints["rwa", "adding"]
    report = evaluate.main(["--checkpoint", str(path), "--n", "300", "--out", str(out)])
    assert json.loads(out.read_text()) == report
    assert report["length"] == 12 and report["n"] == 300
    assert report["trivial_mse"] == pytest.approx(1 / 6, abs=0.03)
    batch = held_out_set("adding", 0, 300, 12, stream=TEST_STREAM)
    predictions = rwa.load_checkpoint(path).predict(batch.values)
    expected = np.mean((predictions - batch.targets) ** 2)
    assert report["mse"] == pytest.approx(expected, rel=1e-6)


def test_adding_at_another_length_gets_its_own_file(tiny_checkpoints, tmp_path):
    ckpt = rwa.load_checkpoint(tiny_checkpoints["lstm", "adding"])
    report = evaluate.evaluate(ckpt, n=50, length=40, progress=False)
    assert report["length"] == 40 and report["trained_length"] == 12
    assert evaluate.default_out(ckpt, 40).name == "lstm_adding.eval-T40.json"
    assert evaluate.default_out(ckpt, None).name == "lstm_adding.eval.json"
    # A smaller or differently seeded run never replaces the default report.
    assert evaluate.default_out(ckpt, 12, n=10).name == "lstm_adding.eval-n10.json"
    assert (
        evaluate.default_out(ckpt, 40, n=10, seed=3).name
        == "lstm_adding.eval-T40-n10-seed3.json"
    )


def test_length_report(tiny_checkpoints):
    ckpt = rwa.load_checkpoint(tiny_checkpoints["rwa", "length"])
    report = evaluate.evaluate(ckpt, n=200, progress=False)

    batch = held_out_set("length", 0, 200, stream=TEST_STREAM)
    correct = (ckpt.predict(batch.values, batch.lengths) > 0.5) == (batch.lengths > 500)
    assert report["accuracy"] == correct.mean()
    clear = np.abs(batch.lengths - 500) >= 25
    assert report["errors_with_margin_25"] == (~correct & clear).sum()
    buckets = report["accuracy_by_length"]
    assert sum(row["count"] for row in buckets) == 200
    text = evaluate.format_report(report)
    assert "accuracy" in text and "500-549" in text
    with pytest.raises(ValueError, match="adding task only"):
        evaluate.evaluate(ckpt, n=10, length=100)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--checkpoint", "nowhere.keras"], "nowhere.keras: file not found"),
        (["--checkpoint", "x.keras", "--n", "0"], "--n must be positive"),
        (["--checkpoint", "x.keras", "--length", "1"], "--length must be between"),
        (["--checkpoint", "x.keras", "--seed", "-1"], "--seed must be between"),
    ],
)
def test_bad_arguments(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nowhere.json").write_text('{"task": "adding", "model": "rwa"}')
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main(argv)
    assert message in str(exit_info.value) + capsys.readouterr().err


def test_out_that_is_a_folder_fails_before_evaluating(tiny_checkpoints, tmp_path):
    path = tiny_checkpoints["rwa", "adding"]
    with pytest.raises(SystemExit, match="is a folder; expected a .json file"):
        evaluate.main(["--checkpoint", str(path), "--out", str(tmp_path)])
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit, match="cannot write"):
        evaluate.main(
            ["--checkpoint", str(path), "--out", str(tmp_path / "file/x.json")]
        )
