import shutil

import pytest

import rwa
from rwa import evaluate, report


def test_tables_from_checkpoint_files(tiny_checkpoints, tmp_path, capsys):
    source = tiny_checkpoints["rwa", "adding"]
    for suffix in (".keras", ".json", ".csv"):
        shutil.copy(source.with_suffix(suffix), tmp_path)
    ckpt = rwa.load_checkpoint(tmp_path / "rwa_adding.keras")
    for extra, name in (([], "eval"), (["--length", "30"], "eval-T30")):
        out = tmp_path / f"rwa_adding.{name}.json"
        argv = ["--checkpoint", str(ckpt.path), "--n", "50", "--out", str(out)]
        evaluate.main(argv + extra)
    # Reports with other settings are not the table's.
    evaluate.main(["--checkpoint", str(ckpt.path), "--n", "20", "--length", "30"])

    rows = report.results(tmp_path)
    assert len(rows) == 1
    row = rows[0]
    assert row["task"] == "adding T=12" and row["steps"] == 20
    assert row["fresh test"].startswith("MSE ")
    assert row["command(s)"].startswith("`python -m rwa.train")
    extra = report.generalisation(tmp_path)
    assert [(r["trained T"], r["tested T"], r["n"]) for r in extra] == [(12, 30, 50)]

    report.main(["--folder", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "| rwa_adding | adding T=12 | 20 |" in printed
    assert "| rwa_adding | 12 | 30 | 50 |" in printed


def test_unreadable_checkpoints_are_left_out_with_a_message(
    tiny_checkpoints, tmp_path, capsys
):
    source = tiny_checkpoints["rwa", "adding"]
    for suffix in (".keras", ".json", ".csv"):
        shutil.copy(source.with_suffix(suffix), tmp_path)
    (tmp_path / "broken.keras").write_text("not a model")
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "no_history.keras").write_text("")
    shutil.copy(source.with_suffix(".json"), tmp_path / "no_history.json")
    (tmp_path / "rwa_adding.eval-T30.json").write_text("{")
    (tmp_path / "rwa_adding.eval-T40.json").write_text('{"checkpoint": "x"}')

    rows = report.results(tmp_path)
    assert [row["checkpoint"] for row in rows] == ["rwa_adding"]
    errors = capsys.readouterr().err
    assert "error: broken.keras:" in errors and "error: no_history.keras:" in errors
    assert report.generalisation(tmp_path) == []
    errors = capsys.readouterr().err
    assert "error: rwa_adding.eval-T30.json: JSONDecodeError" in errors
    assert "error: rwa_adding.eval-T40.json: KeyError" in errors

    with pytest.raises(SystemExit):
        report.main(["--folder", str(tmp_path / "nowhere")])
    assert "is not a folder" in capsys.readouterr().err
