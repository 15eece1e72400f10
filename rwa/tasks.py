"""The two toy tasks of the RWA paper, as batches and as single examples.

- `length`: is the sequence longer than 500? Length `L` uniform in [0, 1000]
  inclusive, values N(0, 1), one feature; label 1 when `L > 500`. Batches are
  zero-padded to 1000 steps and carry each sequence's length for the mask.
- `adding`: `T` steps of two features, a value from U[0, 1) and a marker;
  exactly two steps are marked; the target is the sum of the marked values.

All randomness comes from NumPy generators seeded by `(seed, step)`, so batch
`step` of a run is the same whenever it is drawn, which is what makes resuming
exact. Everything a user chooses is validated here.

Shape letters: B batch, T timesteps, F features.
"""

import dataclasses
import io

import numpy as np
import pandas as pd

TASKS = ("length", "adding")
LENGTH_MAX = 1000
LENGTH_THRESHOLD = 500
ADDING_MIN_LENGTH = 2
ADDING_MAX_LENGTH = 100_000
FEATURES = {"length": 1, "adding": 2}

# Independent random streams: training batches use (seed, step) with
# step >= 0; held-out sets use these negative stream ids.
VALIDATION_STREAM = -1
TEST_STREAM = -2


@dataclasses.dataclass(frozen=True)
class Batch:
    """`values` (B, T, F) float32, zero-padded; `lengths` (B,) int32;
    `targets` (B,) float32."""

    values: np.ndarray
    lengths: np.ndarray
    targets: np.ndarray

    def inputs(self):
        return {"values": self.values, "lengths": self.lengths}


@dataclasses.dataclass(frozen=True)
class Example:
    """One sequence: `values` (T, F) float32 and its `target`. For the adding
    task, `markers` holds the two marked steps."""

    values: np.ndarray
    target: float
    markers: tuple = ()

    @property
    def length(self):
        return self.values.shape[0]


def check_task(task):
    if task not in TASKS:
        raise ValueError(f"Argument `task` must be one of {TASKS}. Received: {task!r}")
    return task


def _check_int(name, value, low, high):
    """`value` as an int in [low, high], or a ValueError that names it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, np.integer, float, np.floating)
    ):
        raise ValueError(
            f"Argument `{name}` must be an integer. Received: {name}={value!r}"
        )
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise ValueError(
            f"Argument `{name}` must be an integer. Received: {name}={value!r}"
        )
    if not low <= value <= high:
        raise ValueError(
            f"Argument `{name}` must be between {low} and {high}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def _check_values(name, values, shape, low=-np.inf, high=np.inf):
    """`values` as float32 of `shape`, finite and in [low, high]."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"Argument `{name}` must be numbers. Received: {error}"
        ) from None
    if array.shape != shape:
        raise ValueError(
            f"Argument `{name}` must have shape {shape}. Received shape {array.shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"Argument `{name}` must be finite. Received {array[bad][0]} at "
            f"index {int(np.flatnonzero(bad)[0])}"
        )
    outside = (array < low) | (array > high)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"Argument `{name}` must lie in [{low}, {high}]. Received "
            f"{array[index]} at index {index}"
        )
    return array.astype(np.float32)


def length_batch(rng, batch_size):
    """A batch of the length task, padded to `LENGTH_MAX` steps."""
    lengths = rng.integers(0, LENGTH_MAX, size=batch_size, endpoint=True)
    values = rng.standard_normal((batch_size, LENGTH_MAX, 1)).astype(np.float32)
    values[np.arange(LENGTH_MAX)[None, :] >= lengths[:, None]] = 0.0
    targets = (lengths > LENGTH_THRESHOLD).astype(np.float32)
    return Batch(values, lengths.astype(np.int32), targets)


def adding_batch(rng, batch_size, length):
    """A batch of the adding task with `length` steps."""
    length = _check_int("length", length, ADDING_MIN_LENGTH, ADDING_MAX_LENGTH)
    values = np.zeros((batch_size, length, 2), dtype=np.float32)
    values[:, :, 0] = rng.random((batch_size, length), dtype=np.float32)
    # Two distinct positions per row: the first two of a random permutation.
    markers = rng.random((batch_size, length)).argsort(axis=1)[:, :2]
    rows = np.arange(batch_size)[:, None]
    values[rows, markers, 1] = 1.0
    targets = values[rows, markers, 0].sum(axis=1)
    lengths = np.full(batch_size, length, dtype=np.int32)
    return Batch(values, lengths, targets.astype(np.float32))


def make_batch(task, rng, batch_size, length=None):
    """A batch of `task`; `length` is the adding task's `T`."""
    if check_task(task) == "length":
        return length_batch(rng, batch_size)
    return adding_batch(rng, batch_size, length)


def batch_for_step(task, seed, step, batch_size, length=None):
    """Training batch number `step` of the run seeded with `seed`."""
    return make_batch(task, np.random.default_rng([seed, step]), batch_size, length)


def held_out_set(task, seed, size, length=None, stream=VALIDATION_STREAM):
    """A fixed set of `size` examples that no training step draws."""
    rng = np.random.default_rng([seed, stream % 2**32])
    return make_batch(task, rng, size, length)


def length_example(length, seed=0, values=None):
    """One sequence of the length task.

    Args:
        length: `L`, an integer in [0, 1000].
        seed: seeds the N(0, 1) values when `values` is None.
        values: optional `L` numbers to use instead.
    """
    if values is None:
        length = _check_int("length", length, 0, LENGTH_MAX)
        rng = np.random.default_rng(_check_int("seed", seed, 0, 2**32 - 1))
        sequence = rng.standard_normal(length).astype(np.float32)
    else:
        count = np.size(values)
        if length is None:
            length = count
        length = _check_int("length", length, 0, LENGTH_MAX)
        sequence = _check_values("values", np.ravel(values), (length,))
    return Example(sequence[:, None], float(length > LENGTH_THRESHOLD))


def adding_example(length, markers, values=None, seed=0, marked_values=None):
    """One sequence of the adding task.

    Args:
        length: `T`, an integer in [2, 100000].
        markers: two distinct steps in [0, T).
        values: optional `T` numbers in [0, 1]; seeded U[0, 1) when None.
        seed: seeds the values when `values` is None.
        marked_values: optional two numbers in [0, 1] that replace the values
            at the two markers.
    """
    length = _check_int("length", length, ADDING_MIN_LENGTH, ADDING_MAX_LENGTH)
    if isinstance(markers, (str, bytes)) or np.ndim(markers) != 1 or len(markers) != 2:
        raise ValueError(
            f"Argument `markers` must be two step numbers. Received: "
            f"markers={markers!r}"
        )
    first, second = (
        _check_int(f"markers[{i}]", marker, 0, length - 1)
        for i, marker in enumerate(markers)
    )
    if first == second:
        raise ValueError(
            f"Argument `markers` must be two different steps. Received: "
            f"markers=({first}, {second})"
        )
    if values is None:
        rng = np.random.default_rng(_check_int("seed", seed, 0, 2**32 - 1))
        numbers = rng.random(length, dtype=np.float32)
    else:
        numbers = _check_values("values", values, (length,), 0.0, 1.0)
    if marked_values is not None:
        numbers = numbers.copy()
        numbers[[first, second]] = _check_values(
            "marked_values", marked_values, (2,), 0.0, 1.0
        )
    sequence = np.zeros((length, 2), dtype=np.float32)
    sequence[:, 0] = numbers
    sequence[[first, second], 1] = 1.0
    target = float(numbers[first]) + float(numbers[second])
    return Example(sequence, target, (first, second))


def _is_header(cell):
    """Whether a first CSV cell is a column name: a word with no digit that
    is not a number either ("nan" and "inf" are values, and "0.5x" is a
    mistyped one)."""
    try:
        float(cell)
    except ValueError:
        return not any(c.isdigit() for c in cell)
    return False


def read_values_csv(data, max_bytes=1_000_000):
    """The numbers in CSV `data` (bytes): one column, an optional header
    line. Raises a ValueError that says what is wrong with the file."""
    if len(data) > max_bytes:
        raise ValueError(
            f"The file is {len(data):,} bytes; at most {max_bytes:,} are accepted"
        )
    try:
        table = pd.read_csv(
            io.BytesIO(data), header=None, dtype=str, keep_default_na=False
        )
    except pd.errors.EmptyDataError:
        raise ValueError("The file holds no numbers") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"The file is not a readable CSV: {error}") from None
    if table.shape[1] != 1:
        raise ValueError(
            f"The file must have one column of numbers; it has {table.shape[1]}"
        )
    numbers = pd.to_numeric(table[0].str.strip(), errors="coerce")
    if _is_header(str(table[0].iloc[0]).strip()):
        numbers, table = numbers.iloc[1:], table.iloc[1:]
    bad = numbers.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Row {row + 1} of the values is not a number: {table[0].iloc[row]!r}"
        )
    if numbers.empty:
        raise ValueError("The file holds no numbers, only a header line")
    return numbers.to_numpy(dtype=np.float64)
