"""The results tables of checkpoints/README.md, from the files beside each
checkpoint (metadata, history, evaluation reports).

    python -m rwa.report [--folder checkpoints]
"""

import argparse
import json
import re
import sys
from pathlib import Path

from rwa.analysis import steps_to_threshold
from rwa.checkpoint import CheckpointError, read_history, read_metadata, sibling
from rwa.train import METRIC_NAMES

# Steps to threshold in the authors' logs, batch 100 ([1], section 3).
PAPER_STEPS = {
    ("rwa", "adding", 100): 800,
    ("lstm", "adding", 100): 3500,
    ("rwa", "adding", 1000): 1400,
    ("lstm", "adding", 1000): 16500,
    ("rwa", "length", 1000): 1300,
    ("lstm", "length", 1000): 3900,
}


def markdown_table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def _metric(task, value):
    if value is None:
        return "–"
    return f"accuracy {value:.4f}" if task == "length" else f"MSE {value:.2e}"


def _rows(paths, row):
    """`row(path)` for each path; a path whose files cannot be read is
    reported on stderr and left out."""
    rows = []
    for path in paths:
        try:
            rows.append(row(path))
        except (CheckpointError, OSError, KeyError, TypeError, ValueError) as error:
            print(f"error: {path.name}: {error!r}; left out", file=sys.stderr)
    return rows


def results(folder):
    """One row per checkpoint: what it is, how long it trained, how good.
    A checkpoint whose files cannot be read is reported on stderr and left
    out."""
    return _rows(sorted(Path(folder).glob("*.keras")), _result)


def _result(path):
    metadata = read_metadata(path)
    task, model, length = metadata["task"], metadata["model"], metadata["length"]
    history = read_history(path)
    evaluation = sibling(path, ".eval.json")
    test = json.loads(evaluation.read_text()) if evaluation.exists() else {}
    reached = steps_to_threshold(history, task)
    commands = [metadata["command"], *metadata.get("resumed_with", [])]
    return {
        "checkpoint": path.stem,
        "task": task if task == "length" else f"adding T={length}",
        "steps": metadata["steps"],
        "wall time": f"{metadata['wall_seconds'] / 60:.0f} min",
        "final val": _metric(task, metadata["final"]["val_metric"]),
        "fresh test": _metric(task, test.get(METRIC_NAMES[task])),
        "steps to threshold": "not reached" if reached is None else reached,
        "paper": PAPER_STEPS.get((model, task, length), "–"),
        "command(s)": " then ".join(f"`{command}`" for command in commands),
    }


def generalisation(folder):
    """Adding models evaluated at lengths they were not trained on, with the
    default sample (`NAME.eval-T{T}.json`)."""
    paths = [
        path
        for path in sorted(Path(folder).glob("*.eval-T*.json"))
        if re.fullmatch(r".+\.eval-T\d+\.json", path.name)
    ]
    rows = _rows(paths, _generalisation)
    return sorted(rows, key=lambda row: (row["checkpoint"], row["tested T"]))


def _generalisation(path):
    report = json.loads(path.read_text())
    return {
        "checkpoint": Path(report["checkpoint"]).stem,
        "trained T": report["trained_length"],
        "tested T": report["length"],
        "n": report["n"],
        "MSE": f"{report['mse']:.2e}",
        "always 1.0": f"{report['trivial_mse']:.3f}",
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rwa.report")
    parser.add_argument("--folder", type=Path, default=Path("checkpoints"))
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        parser.error(f"--folder {args.folder} is not a folder")
    rows = results(args.folder)
    print(markdown_table(rows, list(rows[0]) if rows else ["checkpoint"]))
    extra = generalisation(args.folder)
    if extra:
        print()
        print(markdown_table(extra, list(extra[0])))


if __name__ == "__main__":
    main()
