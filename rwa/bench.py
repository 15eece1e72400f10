"""Measure RWA against Keras's LSTM on this machine.

    python -m rwa.bench [--repeats 10] [--lengths 100 1000] [--all-kinds] [--json]

Rows:
- `train`: one training step (forward, backward, Adam) on a batch of 100
  adding-task sequences, 250 units, as `python -m rwa.train` runs it (with
  XLA where `rwa.models.uses_xla` says so). `--all-kinds` adds every model
  kind, each both with and without XLA.
- `trace`: the app's inference call, `Checkpoint.trace` of one sequence of
  1000 steps with every state returned.
- `matmul`: the recurrent products alone, `(100, 250) @ (250, 500)` once
  forward and twice backward per step, run as a plain loop of matrix
  products: the floor for a training step.

Each figure is the median of `--repeats` timed runs after one warm-up run.
"""

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from rwa import tasks
from rwa.checkpoint import Checkpoint
from rwa.models import MODEL_KINDS, UNITS, build_model, compile_model, uses_xla

BATCH = 100


def median_seconds(function, repeats):
    function()  # warm-up: tracing and compilation
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def recurrent_flops(length, batch=BATCH, units=UNITS):
    """Multiply-adds x 2 of the products with `h` in one training step:
    `h @ W` (U x 2U) forward, and its two gradients backward."""
    return 3 * 2 * batch * units * (2 * units) * length


def train_step_seconds(kind, length, repeats, jit_compile=None):
    model = compile_model(
        build_model(kind, "adding", seed=0), "adding", jit_compile=jit_compile
    )
    batch = tasks.batch_for_step("adding", 0, 0, BATCH, length)
    inputs, targets = batch.inputs(), batch.targets
    return median_seconds(lambda: model.train_on_batch(inputs, targets), repeats)


def matmul_seconds(length, repeats, units=UNITS):
    """A recurrence of `length` steps doing exactly the three products of
    the recurrent shapes a step, each result used in full."""
    h = tf.random.normal((BATCH, units)) * 0.1
    gradient = tf.random.normal((BATCH, 2 * units)) * 0.1
    kernel = tf.random.normal((units, 2 * units)) * 0.1

    @tf.function(jit_compile=True)
    def loop(h, gradient, kernel):
        def body(step, h, gradient, kernel_gradient):
            forward = tf.matmul(h, kernel)  # (B, 2U)
            back_h = tf.matmul(gradient, kernel, transpose_b=True)  # (B, U)
            back_w = tf.matmul(h, gradient, transpose_a=True)  # (U, 2U)
            return step + 1, back_h * 0.5, forward * 0.5, kernel_gradient + back_w

        return tf.while_loop(
            lambda step, *_: step < length,
            body,
            (0, h, gradient, tf.zeros_like(kernel)),
        )[3]

    return median_seconds(lambda: loop(h, gradient, kernel).numpy(), repeats)


def trace_seconds(kind, repeats, length=1000):
    model = build_model(kind, "adding", seed=0)
    metadata = {"task": "adding", "model": kind, "length": length}
    ckpt = Checkpoint(f"bench_{kind}.keras", model, metadata)
    x = tasks.adding_example(length, (10, 600)).values[None]
    return median_seconds(lambda: ckpt.trace(x), repeats)


def train_variants(all_kinds):
    """(kind, XLA or not) of the `train` rows: how `rwa.train` runs rwa and
    lstm, or every kind both ways."""
    if not all_kinds:
        return [(kind, uses_xla(kind)) for kind in ("rwa", "lstm")]
    return [(kind, xla) for kind in MODEL_KINDS for xla in (True, False)]


def run(lengths, repeats, all_kinds=False):
    rows = []
    for length in lengths:
        flops = recurrent_flops(length)
        floor = matmul_seconds(length, repeats)
        rows.append(
            {
                "what": "matmul",
                "model": "-",
                "T": length,
                "ms": floor * 1e3,
                "GFLOP/s": flops / floor / 1e9,
            }
        )
        for kind, xla in train_variants(all_kinds):
            seconds = train_step_seconds(kind, length, repeats, jit_compile=xla)
            rows.append(
                {
                    "what": "train",
                    "model": kind,
                    "T": length,
                    "ms": seconds * 1e3,
                    "GFLOP/s": flops / seconds / 1e9 if kind == "rwa" else None,
                    "xla": xla,
                }
            )
    for kind in ("rwa", "lstm"):
        seconds = trace_seconds(kind, repeats)
        rows.append({"what": "trace", "model": kind, "T": 1000, "ms": seconds * 1e3})
    return rows


def ratios(rows):
    """RWA against LSTM and against the matmul floor, per length, each run
    as `rwa.train` runs it."""
    by_key = {
        (row["what"], row["model"], row["T"]): row["ms"]
        for row in rows
        if "xla" not in row or row["xla"] == uses_xla(row["model"])
    }
    result = {}
    for (what, model, length), ms in by_key.items():
        if what == "train" and model == "rwa":
            result[f"rwa/lstm train T={length}"] = ms / by_key["train", "lstm", length]
            result[f"rwa/floor train T={length}"] = ms / by_key["matmul", "-", length]
    result["rwa/lstm trace T=1000"] = (
        by_key["trace", "rwa", 1000] / by_key["trace", "lstm", 1000]
    )
    return result


def format_table(rows, ratio):
    lines = [f"{'what':<8}{'model':<16}{'XLA':<5}{'T':>6}{'ms':>10}{'GFLOP/s':>10}"]
    for row in rows:
        gflops = row.get("GFLOP/s")
        gflops = f"{gflops:10.1f}" if gflops is not None else f"{'':>10}"
        xla = {True: "yes", False: "no"}.get(row.get("xla"), "")
        lines.append(
            f"{row['what']:<8}{row['model']:<16}{xla:<5}{row['T']:>6}"
            f"{row['ms']:>10.1f}{gflops}"
        )
    lines.append("")
    lines += [f"{name:<26}{value:6.2f}" for name, value in ratio.items()]
    return "\n".join(lines)


def processor_name():
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rwa.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--lengths", type=int, nargs="+", default=[100, 1000])
    parser.add_argument(
        "--all-kinds",
        action="store_true",
        help="time the training step of every model kind, with and without XLA",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead")
    args = parser.parse_args(argv)
    if args.repeats <= 0 or min(args.lengths) < 2:
        parser.error("--repeats must be positive and every length at least 2")

    rows = run(args.lengths, args.repeats, args.all_kinds)
    ratio = ratios(rows)
    machine = {
        "processor": processor_name(),
        "cores": os.cpu_count(),
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
    }
    if args.json:
        print(json.dumps({"machine": machine, "rows": rows, "ratios": ratio}, indent=2))
    else:
        print(format_table(rows, ratio))
    return rows, ratio


if __name__ == "__main__":
    main()
