"""Train an RWA or LSTM model on one of the paper's tasks.

    python -m rwa.train --task adding --model rwa --length 100 --steps 3000 \\
        --eval-every 50 --out runs/rwa_adding_100

Each step draws a fresh batch (seeded by the run's seed and the step number).
Every `--eval-every` steps the model is evaluated on a fixed held-out set, one
line is printed, and `NAME.csv`, `NAME.keras` and `NAME.json` are rewritten
atomically. `--resume` continues from the saved step with the saved optimizer
state, drawing exactly the batches an uninterrupted run would have drawn.
"""

import argparse
import datetime
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rwa.checkpoint import (
    HISTORY_COLUMNS,
    CheckpointError,
    atomic_path,
    ensure_writable,
    history_path,
    load_keras_model,
    metadata_path,
    read_history,
    read_metadata,
    save_json,
    save_model,
    sibling,
)
from rwa.models import (
    LEARNING_RATE,
    MODEL_KINDS,
    build_model,
    compile_model,
    uses_xla,
)
from rwa.tasks import (
    ADDING_MAX_LENGTH,
    ADDING_MIN_LENGTH,
    FEATURES,
    LENGTH_MAX,
    TASKS,
    batch_for_step,
    held_out_set,
)

STRATEGIES = ("default", "mirrored", "multiworker")
METRIC_NAMES = {"length": "accuracy", "adding": "mse"}
# Fields of the metadata that must match for a run to be resumed.
RUN_FIELDS = (
    "task",
    "model",
    "length",
    "seed",
    "batch_size",
    "eval_every",
    "val_size",
)


def versions():
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m rwa.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--model", choices=MODEL_KINDS, default="rwa")
    parser.add_argument(
        "--length",
        type=int,
        help=f"adding task: steps per sequence (default 100); length task: "
        f"fixed at {LENGTH_MAX}",
    )
    parser.add_argument("--steps", type=int, required=True, help="total steps")
    parser.add_argument(
        "--out",
        type=Path,
        help="checkpoint path without suffix (default runs/MODEL_TASK[_T])",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--learning-rate",
        type=float,
        help=f"Adam's learning rate (default {LEARNING_RATE}); with --resume, "
        "changes it from the saved step on",
    )
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--val-size", type=int, default=1000)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument(
        "--init-from",
        type=Path,
        help="start from the weights of this .keras checkpoint (fine-tuning)",
    )
    parser.add_argument(
        "--logdir",
        type=Path,
        help="TensorBoard folder (default runs/tensorboard/NAME)",
    )
    parser.add_argument(
        "--no-jit",
        action="store_true",
        help="do not compile steps with XLA (rwa and lstm use it by default)",
    )
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="default",
        help="tf.distribute strategy: one device, every local device "
        "(mirrored), or the workers named in TF_CONFIG (multiworker)",
    )
    parser.add_argument(
        "--logical-cpus",
        type=int,
        default=0,
        help="split the CPU into this many logical devices (to try the "
        "mirrored strategy without GPUs)",
    )
    args = parser.parse_args(argv)

    if args.task == "length":
        if args.length not in (None, LENGTH_MAX):
            parser.error(
                f"--length: the length task draws L from [0, {LENGTH_MAX}] and "
                f"pads to {LENGTH_MAX}; got {args.length}"
            )
        args.length = LENGTH_MAX
    elif args.length is None:
        args.length = 100
    elif not ADDING_MIN_LENGTH <= args.length <= ADDING_MAX_LENGTH:
        parser.error(
            f"--length must be between {ADDING_MIN_LENGTH} and "
            f"{ADDING_MAX_LENGTH}; got {args.length}"
        )
    for name in ("steps", "batch_size", "eval_every", "val_size"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if not 0 <= args.seed < 2**32:
        parser.error(f"--seed must be between 0 and 2**32 - 1; got {args.seed}")
    if args.learning_rate is not None and not args.learning_rate > 0:
        parser.error(f"--learning-rate must be positive; got {args.learning_rate}")
    if args.logical_cpus and (args.logical_cpus < 2 or args.strategy != "mirrored"):
        parser.error(
            f"--logical-cpus splits the CPU for --strategy mirrored and must be "
            f"at least 2; got {args.logical_cpus} with --strategy {args.strategy}"
        )
    if args.steps % args.eval_every:
        parser.error(
            f"--steps ({args.steps}) must be a multiple of --eval-every "
            f"({args.eval_every})"
        )
    if args.out is None:
        suffix = "" if args.task == "length" else f"_{args.length}"
        model = args.model.replace("-", "_")  # as the shipped names
        args.out = Path("runs") / f"{model}_{args.task}{suffix}"
    args.out = args.out.with_suffix("") if args.out.suffix == ".keras" else args.out
    if args.logdir is None:
        args.logdir = Path("runs") / "tensorboard" / args.out.name
    return args


def run_fields(args):
    return {field: getattr(args, field) for field in RUN_FIELDS}


class HistoryWriter(keras.callbacks.Callback):
    """After each evaluation: one row in the history CSV, one printed line."""

    def __init__(self, path, task, history, wall_seconds, verbose=1):
        super().__init__()
        self.path = path
        self.verbose = verbose
        self.metric = METRIC_NAMES[task]
        self.history = history
        self.wall_seconds = wall_seconds

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.wall_seconds += time.perf_counter() - self.started
        row = {
            "step": int(self.model.optimizer.iterations.numpy()),
            "wall_seconds": round(self.wall_seconds, 3),
            "loss": logs["loss"],
            "val_loss": logs["val_loss"],
            "val_metric": logs[f"val_{self.metric}"],
        }
        self.history = pd.concat([self.history, pd.DataFrame([row])], ignore_index=True)
        with atomic_path(self.path) as temporary:
            self.history.to_csv(temporary, index=False)
        if not self.verbose:
            return
        print(
            f"step {row['step']}: loss {row['loss']:.4f}, val_loss "
            f"{row['val_loss']:.4f}, val_{self.metric} {row['val_metric']:.4f} "
            f"({row['wall_seconds']:.1f} s)",
            flush=True,
        )


class CheckpointWriter(keras.callbacks.Callback):
    """After each evaluation: the model, then its metadata."""

    def __init__(self, path, metadata, history_writer):
        super().__init__()
        self.path = path
        self.metadata = metadata
        self.history_writer = history_writer

    def on_epoch_end(self, epoch, logs=None):
        # The metadata first: a kill before the model is saved leaves the
        # older model, which a resume continues from its own step.
        last = self.history_writer.history.iloc[-1]
        self.metadata.update(
            steps=int(last["step"]),
            wall_seconds=float(last["wall_seconds"]),
            final={column: float(last[column]) for column in HISTORY_COLUMNS[2:]},
            updated=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        )
        save_json(metadata_path(self.path), self.metadata)
        save_model(sibling(self.path, ".keras"), self.model)


def make_strategy(args):
    """The tf.distribute strategy that `--strategy` names. Must run before
    TensorFlow does anything else."""
    if args.logical_cpus > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus
        )
    if args.strategy == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if args.strategy == "mirrored":
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """Whether this process is worker 0 (or the only one)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return (
        resolver is None
        or not resolver.cluster_spec().as_dict()
        or (resolver.task_id == 0)
    )


def batches(args, start_step):
    """Training batches from `start_step` on."""
    step = start_step
    while True:
        batch = batch_for_step(args.task, args.seed, step, args.batch_size, args.length)
        yield batch.inputs(), batch.targets
        step += 1


def reduce_leaf_by_leaf(model, strategy):
    """Works around a Keras 3 bug with MultiWorkerMirroredStrategy and
    dict inputs (keras-team/keras#20329): before training, Keras reduces the
    first batch across replicas in one call, which collective ops refuse for
    a nested structure. This reduces each tensor of the batch on its own."""

    def build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches_iterator in iterator:
                data_batch = tf.nest.map_structure(
                    lambda value: strategy.reduce("MEAN", value, axis=None),
                    next(batches_iterator),
                )
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = build


def average_scalar_logs_across_workers():
    """Works around a Keras 3 bug with MultiWorkerMirroredStrategy
    (tensorflow/tensorflow#72388): after each step Keras averages the
    replicas' loss and metrics along axis 0, which fails for scalars. This
    averages every per-replica value over all replicas instead."""
    from keras.src.backend.tensorflow import trainer

    keras_reduce = trainer.reduce_per_replica

    def reduce(values, strategy, reduction):
        if reduction != "auto" or not isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return keras_reduce(values, strategy, reduction)
        return tf.nest.map_structure(
            lambda value: (
                strategy.reduce("MEAN", value, axis=None)
                if isinstance(value, tf.distribute.DistributedValues)
                else value
            ),
            values,
        )

    trainer.reduce_per_replica = reduce


def dataset(args, start_step):
    """`batches` as a tf.data pipeline for tf.distribute. Every worker draws
    the same global batches; tf.distribute cuts each into one piece per
    replica and, sharding by data, gives each worker its own pieces, so a
    step sees the same sequences as on one device."""
    signature = (
        {
            "values": tf.TensorSpec((None, None, FEATURES[args.task]), tf.float32),
            "lengths": tf.TensorSpec((None,), tf.int32),
        },
        tf.TensorSpec((None,), tf.float32),
    )
    data = tf.data.Dataset.from_generator(
        lambda: batches(args, start_step), output_signature=signature
    )
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return data.with_options(options)


def start(args, command):
    """The model, its metadata and history: fresh, fine-tuned or resumed."""
    model_path = sibling(args.out, ".keras")
    # A metadata file without a model is a run killed before its first save:
    # it starts again.
    exists = model_path.exists()
    if exists and not args.resume:
        sys.exit(
            f"error: {model_path} already exists; pass --resume to continue "
            "it, or choose another --out"
        )
    if exists:
        try:
            metadata = read_metadata(args.out)
            model = load_keras_model(model_path, compile=True)
            history = read_history(args.out)
        except CheckpointError as error:
            sys.exit(f"error: cannot resume: {error}")
        started_from = metadata.get("init_from")
        if args.init_from is not None and str(args.init_from) != started_from:
            sys.exit(
                f"error: cannot resume {model_path} with --init-from "
                f"{args.init_from}: it was started from {started_from or 'scratch'}"
            )
        saved = {field: metadata.get(field) for field in RUN_FIELDS}
        if saved != run_fields(args):
            sys.exit(
                f"error: cannot resume {model_path}: it was trained with "
                f"{saved}, this command asks for {run_fields(args)}"
            )
        model.jit_compile = uses_xla(args.model) and not args.no_jit
        step = int(model.optimizer.iterations.numpy())
        if args.learning_rate is not None:
            model.optimizer.learning_rate.assign(args.learning_rate)
            metadata.setdefault("learning_rate_changes", []).append(
                {"step": step, "learning_rate": args.learning_rate}
            )
        history = history[history["step"] <= step]
        metadata.setdefault("resumed_with", []).append(command)
        return model, metadata, history

    model = build_model(args.model, args.task, seed=args.seed)
    if args.init_from is not None:
        try:
            model.set_weights(load_keras_model(args.init_from).get_weights())
        except (CheckpointError, ValueError) as error:
            sys.exit(f"error: --init-from {args.init_from}: {error}")
    compile_model(
        model,
        args.task,
        learning_rate=args.learning_rate or LEARNING_RATE,
        jit_compile=False if args.no_jit else None,
    )
    metadata = {
        **run_fields(args),
        "strategy": args.strategy,
        "learning_rate": float(model.optimizer.learning_rate.numpy()),
        "val_size": args.val_size,
        "init_from": None if args.init_from is None else str(args.init_from),
        "command": command,
        "versions": versions(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    history = pd.DataFrame(columns=HISTORY_COLUMNS)
    return model, metadata, history


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    command = shlex.join(["python", "-m", "rwa.train", *argv])
    strategy = make_strategy(args)
    # Every worker reads the checkpoint to resume; only the chief writes the
    # real one and the logs, the others write to a temporary folder.
    out, logdir = args.out, args.logdir
    if not is_chief(strategy):
        out = Path(tempfile.mkdtemp()) / args.out.name
        logdir = out.parent / "tensorboard"
    for flag, folder in (("--out", out.parent), ("--logdir", logdir)):
        try:
            ensure_writable(folder)  # now, not at the first evaluation
        except OSError as error:
            sys.exit(f"error: {flag}: cannot write in {folder}: {error}")
    if args.strategy != "default":
        args.no_jit = True  # XLA is for the one-device step
    with strategy.scope():
        model, metadata, history = start(args, command)
    metadata["replicas"] = strategy.num_replicas_in_sync
    if args.verbose:
        print(f"{args.strategy} strategy: {strategy.num_replicas_in_sync} replica(s)")

    step = int(model.optimizer.iterations.numpy())
    if step >= args.steps:
        print(f"{args.out}: already at step {step} of {args.steps}; nothing to do")
        return model
    if step % args.eval_every:
        sys.exit(
            f"error: the checkpoint is at step {step}, not a multiple of "
            f"--eval-every {args.eval_every}"
        )
    # Whether XLA compiles the step, from this step on: a rerun needs it to
    # repeat the run, and it can change when a run is resumed.
    metadata.setdefault("xla", []).append(
        {"step": step, "jit_compile": bool(model.jit_compile)}
    )
    validation = held_out_set(args.task, args.seed, args.val_size, args.length)
    wall_seconds = float(history["wall_seconds"].iloc[-1]) if len(history) else 0.0
    history_writer = HistoryWriter(
        history_path(out), args.task, history, wall_seconds, args.verbose
    )
    callbacks = [
        # The progress bar first, so each epoch's bar ends before our line.
        keras.callbacks.ProgbarLogger(),
        history_writer,
        CheckpointWriter(out, metadata, history_writer),
        keras.callbacks.TensorBoard(log_dir=str(logdir)),
    ]
    if args.strategy == "default":
        data = batches(args, step)
    else:
        data = dataset(args, step)
    if args.strategy == "multiworker":
        reduce_leaf_by_leaf(model, strategy)
        average_scalar_logs_across_workers()
    model.fit(
        data,
        steps_per_epoch=args.eval_every,
        epochs=args.steps // args.eval_every,
        initial_epoch=step // args.eval_every,
        validation_data=(validation.inputs(), validation.targets),
        validation_batch_size=args.batch_size,
        callbacks=callbacks,
        shuffle=False,
        verbose=args.verbose,
    )
    if out != args.out:
        shutil.rmtree(out.parent, ignore_errors=True)
    return model


if __name__ == "__main__":
    main()
