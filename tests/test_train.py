import json

import numpy as np
import pandas as pd
import pytest
from conftest import train_tiny

import rwa
from rwa import models, train


def test_run_writes_history_metadata_and_a_loadable_model(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, steps=40, eval_every=10)

    history = pd.read_csv(out.with_suffix(".csv"))
    assert list(history.columns) == train.HISTORY_COLUMNS
    assert history["step"].tolist() == [10, 20, 30, 40]
    assert history["wall_seconds"].is_monotonic_increasing
    # The trivial answer 1.0 has MSE 1/6; the untrained model starts far above.
    assert history["val_loss"].iloc[-1] < 0.5 * history["val_loss"].iloc[0]
    np.testing.assert_allclose(history["val_metric"], history["val_loss"], rtol=1e-5)

    metadata = json.loads(out.with_suffix(".json").read_text())
    assert metadata["steps"] == 40 and metadata["length"] == 12
    assert metadata["command"].startswith("python -m rwa.train --task adding")
    assert set(metadata["versions"]) == {"python", "numpy", "tensorflow", "keras"}
    assert metadata["final"]["val_loss"] == pytest.approx(history["val_loss"].iloc[-1])
    assert rwa.load_checkpoint(out.with_suffix(".keras")).metadata == metadata
    assert any((tmp_path / "tensorboard").rglob("events.out.tfevents.*"))


def test_resume_continues_like_an_uninterrupted_run(tmp_path):
    whole = train_tiny(tmp_path / "whole", steps=30, eval_every=10)
    train_tiny(tmp_path / "split", steps=10, eval_every=10)
    resumed = train_tiny(tmp_path / "split", "--resume", steps=30, eval_every=10)

    assert int(resumed.optimizer.iterations.numpy()) == 30
    assert resumed.jit_compile  # rwa keeps XLA when resumed
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    history = pd.read_csv(tmp_path / "split.csv")
    assert history["step"].tolist() == [10, 20, 30]
    metadata = json.loads((tmp_path / "split.json").read_text())
    assert len(metadata["resumed_with"]) == 1


def test_metadata_records_whether_xla_compiles_the_step(tmp_path):
    train_tiny(tmp_path / "rwa", steps=2, eval_every=2)
    train_tiny(tmp_path / "rwa", "--resume", "--no-jit", steps=4, eval_every=2)
    train_tiny(tmp_path / "stacked", model="stacked-rwa", steps=2, eval_every=2)

    def xla(name):
        return json.loads((tmp_path / f"{name}.json").read_text())["xla"]

    assert xla("rwa") == [
        {"step": 0, "jit_compile": True},
        {"step": 2, "jit_compile": False},
    ]
    assert xla("stacked") == [{"step": 0, "jit_compile": False}]


def test_resume_drops_history_rows_past_the_saved_model(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, steps=10, eval_every=10)
    history = pd.read_csv(out.with_suffix(".csv"))
    # As if killed after the history row of step 20 was written, before the model.
    extra = history.assign(step=20)
    pd.concat([history, extra]).to_csv(out.with_suffix(".csv"), index=False)
    train_tiny(out, "--resume", steps=20, eval_every=10)
    assert pd.read_csv(out.with_suffix(".csv"))["step"].tolist() == [10, 20]


def test_refuses_to_overwrite_or_resume_a_different_run(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, steps=10, eval_every=10)
    with pytest.raises(SystemExit, match="already exists"):
        train_tiny(out, steps=10, eval_every=10)
    with pytest.raises(SystemExit, match="cannot resume"):
        train_tiny(out, "--resume", "--seed", "5", steps=20, eval_every=10)


def test_fine_tuning_records_its_source(tmp_path, tiny_checkpoints):
    source = tiny_checkpoints["rwa", "adding"]
    out = tmp_path / "tuned"
    model = train_tiny(out, "--init-from", str(source), "--length", "30", steps=2,
                       eval_every=2)  # fmt: skip
    assert json.loads(out.with_suffix(".json").read_text())["init_from"] == str(source)
    # Two small steps from the source's weights stay far closer to them than
    # a fresh initialisation is.
    tuned = model.get_layer("rwa").get_weights()[2]  # kernel_g
    start = rwa.load_checkpoint(source).model.get_layer("rwa").get_weights()[2]
    fresh = models.build_model("rwa", "adding", seed=0).get_layer("rwa")
    assert (
        np.abs(tuned - start).max() < 0.1 * np.abs(fresh.get_weights()[2] - start).max()
    )


def test_default_out_names_the_model_and_task():
    argv = ["--task", "adding", "--model", "stacked-rwa", "--steps", "100"]
    assert str(train.parse_args(argv).out) == "runs/stacked_rwa_adding_100"
    argv = ["--task", "length", "--steps", "100"]
    assert str(train.parse_args(argv).out) == "runs/rwa_length"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--task", "length", "--length", "50"], "--length"),
        (["--task", "adding", "--length", "1"], "--length"),
        (["--task", "adding", "--steps", "15"], "multiple of --eval-every"),
        (["--task", "adding", "--steps", "0"], "--steps must be positive"),
        (["--task", "sorting"], "invalid choice"),
        (["--task", "adding", "--seed", "-1"], "--seed must be between"),
        (["--task", "adding", "--learning-rate", "0"], "--learning-rate must be"),
        (["--task", "adding", "--logical-cpus", "1"], "--logical-cpus splits"),
        (["--task", "adding", "--logical-cpus", "2"], "with --strategy default"),
    ],
)
def test_bad_arguments(argv, message, capsys):
    defaults = ["--model", "rwa", "--steps", "20", "--eval-every", "10"]
    with pytest.raises(SystemExit):
        train.parse_args(defaults + argv)
    assert message in capsys.readouterr().err


def test_learning_rate_change_on_resume(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, "--learning-rate", "0.01", steps=10, eval_every=10)
    model = train_tiny(out, "--resume", "--learning-rate", "0.0001", steps=20,
                       eval_every=10)  # fmt: skip
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert metadata["learning_rate"] == pytest.approx(0.01)
    assert metadata["learning_rate_changes"] == [{"step": 10, "learning_rate": 1e-4}]


def test_run_killed_before_its_first_save_starts_again(tmp_path):
    out = tmp_path / "run"
    out.with_suffix(".json").write_text('{"task": "adding", "model": "rwa"}')
    train_tiny(out, steps=10, eval_every=10)
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 10


def test_model_without_metadata_cannot_resume(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, steps=10, eval_every=10)
    out.with_suffix(".json").unlink()
    with pytest.raises(SystemExit, match="cannot resume.*metadata file not found"):
        train_tiny(out, "--resume", steps=20, eval_every=10)


def test_resume_of_a_fine_tuned_run_keeps_its_source(tmp_path, tiny_checkpoints):
    source = str(tiny_checkpoints["rwa", "adding"])
    tuned, scratch = tmp_path / "tuned", tmp_path / "scratch"
    train_tiny(tuned, "--init-from", source, steps=2, eval_every=2)
    model = train_tiny(tuned, "--resume", "--init-from", source, steps=4, eval_every=2)
    assert int(model.optimizer.iterations.numpy()) == 4
    train_tiny(scratch, steps=2, eval_every=2)
    with pytest.raises(SystemExit, match="it was started from scratch"):
        train_tiny(scratch, "--resume", "--init-from", source, steps=4, eval_every=2)
    with pytest.raises(SystemExit, match=f"it was started from {source}"):
        train_tiny(tuned, "--resume", "--init-from", str(scratch) + ".keras",
                   steps=6, eval_every=2)  # fmt: skip


def test_resume_without_a_readable_history_names_the_file(tmp_path):
    out = tmp_path / "run"
    train_tiny(out, steps=10, eval_every=10)
    history = out.with_suffix(".csv")
    history.unlink()
    with pytest.raises(
        SystemExit, match="cannot resume: .*run.csv: missing or unreadable"
    ):
        train_tiny(out, "--resume", steps=20, eval_every=10)
    history.write_text("when,what\n1,2\n")
    with pytest.raises(SystemExit, match="has columns \\['when', 'what'\\]"):
        train_tiny(out, "--resume", steps=20, eval_every=10)


def test_a_dot_in_the_name_is_kept(tmp_path):
    out = tmp_path / "adding_lr0.5"
    train_tiny(out, steps=10, eval_every=10)
    names = sorted(path.name for path in tmp_path.glob("adding_lr0.5.*"))
    assert names == ["adding_lr0.5.csv", "adding_lr0.5.json", "adding_lr0.5.keras"]
    model = train_tiny(out, "--resume", steps=20, eval_every=10)
    assert int(model.optimizer.iterations.numpy()) == 20


def test_an_unwritable_out_fails_before_training(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit, match="--out: cannot write in"):
        train_tiny(tmp_path / "file" / "run", steps=10, eval_every=10)
