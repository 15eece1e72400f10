"""Evaluate a checkpoint on fresh examples that no training step drew.

    python -m rwa.evaluate --checkpoint checkpoints/rwa_adding_100.keras \\
        [--n 2000] [--seed S] [--length T] [--out results.json]

The examples come from the test stream of the task generators, which training
(steps >= 0) and validation never use, whatever the seed. Prints a table and
writes the same numbers as JSON (default `NAME.eval.json`, or
`NAME.eval-T{T}.json` when `--length` differs from the training length).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from rwa import analysis
from rwa.checkpoint import (
    CheckpointError,
    ensure_writable,
    load_checkpoint,
    save_json,
    sibling,
)
from rwa.tasks import (
    ADDING_MAX_LENGTH,
    ADDING_MIN_LENGTH,
    LENGTH_THRESHOLD,
    TEST_STREAM,
    held_out_set,
)

BATCH_SIZE = 100
DEFAULT_N = 2000
# Sequences this far from the boundary must all be classified right.
CLEAR_MARGIN = 25


def predict_in_batches(ckpt, batch, progress=True):
    """The checkpoint's predictions for a whole `Batch`, 100 at a time."""
    starts = range(0, len(batch.targets), BATCH_SIZE)
    parts = [
        ckpt.predict(
            batch.values[i : i + BATCH_SIZE], batch.lengths[i : i + BATCH_SIZE]
        )
        for i in tqdm(starts, desc="evaluating", unit="batch", disable=not progress)
    ]
    return np.concatenate(parts)


def length_report(lengths, probabilities):
    correct = (probabilities > 0.5) == (lengths > LENGTH_THRESHOLD)
    clear = np.abs(lengths - LENGTH_THRESHOLD) >= CLEAR_MARGIN
    return {
        "accuracy": float(correct.mean()),
        "errors": int((~correct).sum()),
        f"errors_with_margin_{CLEAR_MARGIN}": int((~correct & clear).sum()),
        "crossing_length": analysis.crossing_point(lengths, probabilities),
        "accuracy_by_length": analysis.accuracy_by_length(lengths, probabilities)
        .round(4)
        .to_dict(orient="records"),
    }


def adding_report(targets, predictions):
    return {
        "mse": float(np.mean((predictions - targets) ** 2)),
        "trivial_mse": float(
            np.mean((analysis.TRIVIAL_ADDING_PREDICTION - targets) ** 2)
        ),
        "max_abs_error": float(np.max(np.abs(predictions - targets))),
    }


def evaluate(ckpt, n=2000, seed=0, length=None, progress=True):
    """The evaluation report of `ckpt` on `n` fresh examples (a dict)."""
    if ckpt.task == "length":
        if length is not None:
            raise ValueError(
                "Argument `length` applies to the adding task only; the length "
                f"task draws L from [0, 1000]. Received: length={length}"
            )
    else:
        length = ckpt.metadata.get("length") if length is None else length
    batch = held_out_set(ckpt.task, seed, n, length, stream=TEST_STREAM)
    predictions = predict_in_batches(ckpt, batch, progress)
    report = {
        "checkpoint": str(ckpt.path),
        "task": ckpt.task,
        "model": ckpt.model_kind,
        "trained_length": ckpt.metadata.get("length"),
        "length": length,
        "n": n,
        "seed": seed,
    }
    if ckpt.task == "length":
        report.update(length_report(batch.lengths, predictions))
    else:
        report.update(adding_report(batch.targets, predictions))
    return report


def format_report(report):
    """The report as aligned `name  value` lines, buckets as a table."""
    lines = []
    for key, value in report.items():
        if key == "accuracy_by_length":
            continue
        if isinstance(value, float):
            value = f"{value:.6g}"
        lines.append(f"{key:<24}{value}")
    buckets = report.get("accuracy_by_length")
    if buckets:
        lines += ["", f"{'length':<12}{'count':>6}{'accuracy':>10}"]
        lines += [
            f"{row['bucket']:<12}{row['count']:>6}{row['accuracy']:>10.4f}"
            for row in buckets
        ]
    return "\n".join(lines)


def default_out(ckpt, length, n=DEFAULT_N, seed=0):
    """`NAME.eval.json` beside the checkpoint, with `-T{length}`, `-n{n}` and
    `-seed{seed}` added where they differ from the trained length, 2000 and 0,
    so that a smaller or other run never replaces the shipped report."""
    parts = [".eval"]
    if ckpt.task == "adding" and length not in (None, ckpt.metadata.get("length")):
        parts.append(f"T{length}")
    if n != DEFAULT_N:
        parts.append(f"n{n}")
    if seed != 0:
        parts.append(f"seed{seed}")
    return sibling(ckpt.path, "-".join(parts) + ".json")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rwa.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="number of examples")
    parser.add_argument(
        "--seed", type=int, default=0, help="the training seed of the test stream"
    )
    parser.add_argument(
        "--length", type=int, help="adding task: T (default: the trained T)"
    )
    parser.add_argument("--out", type=Path, help="JSON file for the report")
    args = parser.parse_args(argv)
    if args.n <= 0:
        parser.error(f"--n must be positive; got {args.n}")
    if not 0 <= args.seed < 2**32:
        parser.error(f"--seed must be between 0 and 2**32 - 1; got {args.seed}")
    if args.length is not None and not (
        ADDING_MIN_LENGTH <= args.length <= ADDING_MAX_LENGTH
    ):
        parser.error(
            f"--length must be between {ADDING_MIN_LENGTH} and "
            f"{ADDING_MAX_LENGTH}; got {args.length}"
        )
    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as error:
        sys.exit(f"error: {error}")
    out = args.out or default_out(ckpt, args.length, args.n, args.seed)
    if out.is_dir():
        sys.exit(f"error: --out {out} is a folder; expected a .json file")
    try:
        ensure_writable(out.parent)
    except OSError as error:
        sys.exit(f"error: cannot write {out}: {error}")
    try:
        report = evaluate(ckpt, args.n, args.seed, args.length)
    except ValueError as error:
        sys.exit(f"error: {error}")

    print(format_report(report))
    save_json(out, report)
    print(f"\nwrote {out}")
    return report


if __name__ == "__main__":
    main()
