import shutil

import rwa
from rwa import evaluate, report


def test_tables_from_checkpoint_files(tiny_checkpoints, tmp_path, capsys):
    source = tiny_checkpoints["rwa", "adding"]
    for suffix in (".keras", ".json", ".csv"):
        shutil.copy(source.with_suffix(suffix), tmp_path)
    ckpt = rwa.load_checkpoint(tmp_path / "rwa_adding.keras")
    evaluate.main(["--checkpoint", str(ckpt.path), "--n", "50"])
    evaluate.main(["--checkpoint", str(ckpt.path), "--n", "50", "--length", "30"])

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
