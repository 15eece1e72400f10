import json

from rwa import bench, models


def test_bench_prints_rows_and_ratios(capsys):
    rows, ratios = bench.main(
        ["--lengths", "5", "--repeats", "1", "--all-kinds", "--json"]
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"] == rows
    assert {(row["what"], row["model"], row.get("xla")) for row in rows} == {
        ("matmul", "-", None),
        *(("train", kind, xla) for kind in models.MODEL_KINDS for xla in (1, 0)),
        ("trace", "rwa", None),
        ("trace", "lstm", None),
    }
    assert all(row["ms"] > 0 for row in rows)
    assert set(ratios) == {
        "rwa/lstm train T=5",
        "rwa/floor train T=5",
        "rwa/lstm trace T=1000",
    }
    by_key = {(row["model"], row.get("xla")): row["ms"] for row in rows}
    assert ratios["rwa/lstm train T=5"] == by_key["rwa", 1] / by_key["lstm", 1]
    table = bench.format_table(rows, ratios)
    assert "rwa/lstm train T=5" in table
    assert "lstm-attention  no" in table


def test_bench_times_training_as_rwa_train_runs_it():
    assert bench.train_variants(all_kinds=False) == [("rwa", True), ("lstm", True)]
