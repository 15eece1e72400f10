"""Loading, running and saving trained models.

A checkpoint is `NAME.keras` (the model, with its optimizer state so that
training can resume) beside `NAME.json` (what made it) and `NAME.csv` (its
learning curve). Every write goes to a temporary file in the same folder that
is then renamed over the target, so a kill at any moment leaves either the
old file or the new one.

    ckpt = rwa.load_checkpoint("checkpoints/rwa_adding_100.keras")
    ckpt.predict(x)        # (B,) P(L > 500) or the predicted sum
    ckpt.trace(x)["h"]     # (B, T, U) state at every step

Shape letters: B batch, T timesteps, F features, U units.
"""

import contextlib
import functools
import json
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rwa.layer import RWA
from rwa.models import MODEL_KINDS
from rwa.tasks import FEATURES, TASKS


class CheckpointError(ValueError):
    """A checkpoint file is missing, damaged or not one of ours."""


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; renames it onto `path` when the
    block succeeds and removes it when the block fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp makes files private; these are shared
    try:
        yield Path(temporary)
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())  # on disk before it takes the name
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_writable(folder):
    """Creates `folder` and writes a file in it; raises `OSError` if either
    fails, so that a bad output path fails before any long work."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tempfile.TemporaryFile(dir=folder).close()


def save_json(path, data):
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def save_model(path, model):
    with atomic_path(path) as temporary:
        model.save(temporary)


def sibling(path, extension):
    """The file of checkpoint `path` (`NAME.keras` or `NAME`) with `extension`
    (`".json"`, `".csv"`, `".keras"`). A dot inside NAME stays: `lr0.5` gives
    `lr0.5.json`, not `lr0.json`."""
    path = Path(path)
    if path.suffix == ".keras":
        path = path.with_suffix("")
    return path.with_name(path.name + extension)


def metadata_path(path):
    return sibling(path, ".json")


def history_path(path):
    return sibling(path, ".csv")


# The columns of a learning curve, `NAME.csv`, in order.
HISTORY_COLUMNS = ["step", "wall_seconds", "loss", "val_loss", "val_metric"]


def read_history(path):
    """The learning curve beside checkpoint `path` as a DataFrame, or a
    CheckpointError that names the file and what is wrong with it."""
    csv_path = history_path(path)
    try:
        history = pd.read_csv(csv_path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise CheckpointError(f"{csv_path}: missing or unreadable ({error})") from None
    except pd.errors.EmptyDataError:
        raise CheckpointError(
            f"{csv_path}: empty; expected a header {','.join(HISTORY_COLUMNS)}"
        ) from None
    if list(history.columns) != HISTORY_COLUMNS:
        raise CheckpointError(
            f"{csv_path}: has columns {list(history.columns)}, expected "
            f"{HISTORY_COLUMNS}"
        )
    text = [
        column
        for column in HISTORY_COLUMNS
        if not pd.api.types.is_numeric_dtype(history[column])
    ]
    if text:
        raise CheckpointError(
            f"{csv_path}: column(s) {text} hold values that are not numbers"
        )
    return history


def read_metadata(path):
    """The JSON beside checkpoint `path`, checked for the fields we need."""
    json_path = metadata_path(path)
    if not json_path.is_file():
        raise CheckpointError(
            f"{json_path}: metadata file not found; every checkpoint needs the "
            "JSON that training writes beside it"
        )
    try:
        metadata = json.loads(json_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{json_path}: not valid JSON ({error})") from None
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{json_path}: expected a JSON object")
    if metadata.get("task") not in TASKS:
        raise CheckpointError(
            f"{json_path}: field 'task' must be one of {TASKS}, got "
            f"{metadata.get('task')!r}"
        )
    if metadata.get("model") not in MODEL_KINDS:
        raise CheckpointError(
            f"{json_path}: field 'model' must be one of {MODEL_KINDS}, got "
            f"{metadata.get('model')!r}"
        )
    return metadata


def load_keras_model(path, compile=False):
    """The Keras model in `path`, loaded in safe mode, or a CheckpointError
    that names the file and what is wrong with it."""
    path = Path(path)
    if path.suffix != ".keras":
        raise CheckpointError(f"{path}: expected a '.keras' file")
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path}: not a Keras model archive (truncated or another format)"
        )
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises many types for a bad archive.
        raise CheckpointError(
            f"{path}: could not load the model ({type(error).__name__}: {error})"
        ) from None


def load_checkpoint(path):
    """Loads `NAME.keras` and the `NAME.json` beside it as a Checkpoint."""
    model = load_keras_model(path)  # first: it checks that `path` is a .keras
    metadata = read_metadata(path)
    return Checkpoint(Path(path), model, metadata)


def _recurrent_layers(model):
    layers = [
        layer for layer in model.layers if isinstance(layer, (RWA, keras.layers.LSTM))
    ]
    if not layers:
        raise CheckpointError(f"{model.name}: the model has no recurrent layer")
    return layers


def _input_width(model):
    """Features per step of the model's "values" input, or None."""
    for tensor in model.inputs:
        if tensor.name.startswith("values"):
            return tensor.shape[-1]
    return None


def _returning_sequences(layer):
    """`layer`, or a copy sharing its trained weights that returns every
    step. An RWA traces itself, so it needs no copy."""
    if isinstance(layer, RWA) or layer.return_sequences:
        return layer
    copy = type(layer).from_config({**layer.get_config(), "return_sequences": True})
    copy.build((None, None, layer.cell.kernel.shape[0]))
    copy.set_weights(layer.get_weights())
    return copy


def _bucket(size, smallest):
    """The next power of two at or above `size`, at least `smallest`."""
    return max(smallest, 1 << max(0, int(size) - 1).bit_length())


def _pad(x, lengths):
    """Zero-pads `x` (B, T, F) to a power-of-two batch and number of steps,
    with length 0 for the added rows. Masked steps change no state, so the
    results for the real rows and steps are the same; the compiled graph is
    reused for every shape in the bucket."""
    batch, steps, features = x.shape
    padded = np.zeros(
        (_bucket(batch, 1), _bucket(steps, 16), features), dtype=np.float32
    )
    padded[:batch, :steps] = x
    padded_lengths = np.zeros(padded.shape[0], dtype=np.int32)
    padded_lengths[:batch] = lengths
    return padded, padded_lengths


class Checkpoint:
    """A trained model and what is known about it.

    Attributes:
        path: the `.keras` file.
        task: `"length"` or `"adding"`.
        model_kind: one of `rwa.models.MODEL_KINDS`.
        metadata: the JSON written beside the model.
        model: the Keras model.
        num_recurrent_layers: 2 for stacked RWA, else 1.
    """

    def __init__(self, path, model, metadata):
        self.path = Path(path)
        self.model = model
        self.metadata = metadata
        self.task = metadata["task"]
        self.model_kind = metadata["model"]
        self.features = FEATURES[self.task]
        width = _input_width(model)
        if width != self.features:
            raise CheckpointError(
                f"{self.path}: the model takes {width} features a step, but a "
                f"{self.task} checkpoint needs {self.features}"
            )
        self._recurrent = _recurrent_layers(model)
        self._tracers = [_returning_sequences(layer) for layer in self._recurrent]
        self.num_recurrent_layers = len(self._recurrent)
        # One lock per checkpoint: Keras layers are not documented as safe to
        # call from several threads, and Streamlit serves each session in one.
        self._lock = threading.Lock()
        signature = [
            tf.TensorSpec((None, None, self.features), tf.float32),
            tf.TensorSpec((None,), tf.int32),
        ]
        # XLA compiles once per padded shape (see `_pad`); one trace graph
        # per recurrent layer.
        self._predict = tf.function(
            self._predict_graph, input_signature=signature, jit_compile=True
        )
        self._trace = [
            tf.function(
                functools.partial(self._trace_graph, layer=layer),
                input_signature=signature,
                jit_compile=True,
            )
            for layer in range(self.num_recurrent_layers)
        ]

    @property
    def units(self):
        return self._recurrent[0].units

    def __repr__(self):
        return (
            f"Checkpoint({str(self.path)!r}, task={self.task!r}, "
            f"model_kind={self.model_kind!r})"
        )

    def _prepare(self, x, lengths):
        """Validated and padded inputs, and the real batch size and steps."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != self.features:
            raise ValueError(
                f"Argument `x` must have shape (batch, steps, {self.features}) "
                f"for the {self.task} task. Received shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("Argument `x` must be finite. Received NaN or inf")
        batch, steps, _ = x.shape
        if lengths is None:
            lengths = np.full(batch, steps, dtype=np.int32)
        lengths = np.asarray(lengths)
        if lengths.shape != (batch,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(
                f"Argument `lengths` must be {batch} integers, one per sequence. "
                f"Received {lengths!r}"
            )
        if (lengths < 0).any() or (lengths > steps).any():
            raise ValueError(
                f"Argument `lengths` must lie in [0, {steps}]. Received {lengths}"
            )
        return (*_pad(x, lengths.astype(np.int32)), batch, steps)

    def _predict_graph(self, x, lengths):
        return self.model({"values": x, "lengths": lengths})[:, 0]

    def _trace_graph(self, x, lengths, layer):
        steps = tf.shape(x)[1]
        mask = tf.range(steps)[None, :] < lengths[:, None]
        sequence = x
        for below in self._recurrent[:layer]:  # (B, T, U) into the next layer
            sequence = below(sequence, mask=mask)
        tracer = self._tracers[layer]
        trace = (
            tracer.trace(sequence, mask=mask)
            if isinstance(tracer, RWA)
            else {"h": tracer(sequence, mask=mask)}
        )
        if self.model_kind == "lstm-attention":
            pooling = self.model.get_layer("attention")
            trace["attention"] = pooling.weights_over_time(trace["h"], mask)
        return trace

    def predict(self, x, lengths=None):
        """The model's answer for each sequence.

        Args:
            x: `(B, T, F)` float32, zero-padded past each length.
            lengths: `(B,)` ints, or None when every sequence has `T` steps.

        Returns:
            `(B,)` float: P(L > 500) for the length task, the predicted sum
            for the adding task.
        """
        x, lengths, batch, _ = self._prepare(x, lengths)
        with self._lock:
            return self._predict(x, lengths).numpy()[:batch]

    def trace(self, x, lengths=None, layer=0):
        """The recurrent state at every step.

        Args:
            x, lengths: as in `predict`.
            layer: which recurrent layer, from 0 (only stacked RWA has 2).

        Returns:
            dict of `(B, T, U)` float32 arrays: `"h"` for every model; for RWA
            layers also `"a"`, `"n"`, `"d"` and `"m"` (see `RWA.trace`); for
            `lstm-attention` also `"attention"` `(B, T)`, the pooling weights.
        """
        if layer not in range(self.num_recurrent_layers):
            raise ValueError(
                f"Argument `layer` must be in [0, {self.num_recurrent_layers - 1}] "
                f"for this {self.model_kind} model. Received: layer={layer!r}"
            )
        x, lengths, batch, steps = self._prepare(x, lengths)
        with self._lock:
            trace = self._trace[layer](x, lengths)
        return {name: value.numpy()[:batch, :steps] for name, value in trace.items()}


def _read_json(path):
    """The JSON object in `path`, or {} if there is none or it is broken."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _count(value):
    """`value` if it is a whole number, else None (a hand-edited JSON)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def find_checkpoints(folder="checkpoints"):
    """Every `*.keras` in `folder` with what its metadata (and evaluation
    report, when there is one) says, without loading the models: a list of
    dicts, sorted by name. A checkpoint whose metadata is missing or broken
    has its reason in `"error"`."""
    rows = []
    for path in sorted(Path(folder).glob("*.keras")):
        row = {"name": path.stem, "path": str(path)}
        try:
            metadata = read_metadata(path)
        except CheckpointError as error:
            rows.append({**row, "error": str(error)})
            continue
        final = metadata.get("final")
        final = final if isinstance(final, dict) else {}
        test = _read_json(sibling(path, ".eval.json"))
        test_metric = test.get("accuracy" if metadata["task"] == "length" else "mse")
        value = final.get("val_metric")
        date = metadata.get("updated") or metadata.get("created")
        rows.append(
            {
                **row,
                "task": metadata["task"],
                "model": metadata["model"],
                "length": _count(metadata.get("length")),
                "steps": _count(metadata.get("steps")),
                "batch_size": _count(metadata.get("batch_size")),
                "val_metric": value if isinstance(value, (int, float)) else None,
                "test_metric": test_metric if isinstance(test_metric, float) else None,
                "date": date[:10] if isinstance(date, str) else "",
                "error": None,
            }
        )
    return rows
