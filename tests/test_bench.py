import json

from rwa import bench


def test_bench_prints_rows_and_ratios(capsys):
    rows, ratios = bench.main(["--lengths", "5", "--repeats", "1", "--json"])
    printed = json.loads(capsys.readouterr().out)
    assert printed["rows"] == rows
    assert {(row["what"], row["model"]) for row in rows} == {
        ("matmul", "-"),
        ("train", "rwa"),
        ("train", "lstm"),
        ("trace", "rwa"),
        ("trace", "lstm"),
    }
    assert all(row["ms"] > 0 for row in rows)
    assert set(ratios) == {
        "rwa/lstm train T=5",
        "rwa/floor train T=5",
        "rwa/lstm trace T=1000",
    }
    table = bench.format_table(rows, ratios)
    assert "rwa/lstm train T=5" in table
