"""What the evaluation and the app derive from predictions, histories and
traces. Plain NumPy and pandas in, plain values out.

Shape letters: N sequences, T timesteps, U units.
"""

import numpy as np
import pandas as pd

from rwa.tasks import LENGTH_THRESHOLD

# When a run counts as having learned its task ([1], figures 2-4).
THRESHOLDS = {"length": ("val_metric", ">=", 0.99), "adding": ("val_metric", "<", 0.01)}
# Always answering 1.0 (the mean sum) on the adding task; its expected MSE is
# the variance of a sum of two U(0, 1) values, 2 / 12.
TRIVIAL_ADDING_PREDICTION = 1.0
TRIVIAL_ADDING_MSE = 1 / 6


def steps_to_threshold(history, task):
    """The first step whose validation metric passes the task's threshold:
    accuracy >= 0.99 (length) or MSE < 0.01 (adding); None if never."""
    column, comparison, value = THRESHOLDS[task]
    passed = history[column] >= value if comparison == ">=" else history[column] < value
    steps = history.loc[passed, "step"]
    return int(steps.iloc[0]) if len(steps) else None


def accuracy_by_length(lengths, probabilities, width=50):
    """Accuracy per bucket of `width` lengths: a DataFrame with columns
    `bucket` (e.g. "450-499"), `count`, `accuracy`."""
    lengths = np.asarray(lengths)
    correct = (np.asarray(probabilities) > 0.5) == (lengths > LENGTH_THRESHOLD)
    start = lengths // width * width
    table = (
        pd.DataFrame({"start": start, "correct": correct})
        .groupby("start")["correct"]
        .agg(count="size", accuracy="mean")
        .reset_index()
    )
    table.insert(0, "bucket", [f"{s}-{s + width - 1}" for s in table.pop("start")])
    return table


def crossing_point(lengths, probabilities):
    """The length where the mean P(L > 500) rises through 0.5, interpolated
    linearly between the two lengths around it; of several crossings (noise
    far from the boundary), the one nearest 500; None if it never crosses.

    Args:
        lengths: (N,) sequence lengths, repeats allowed.
        probabilities: (N,) the model's P(L > 500) for each.
    """
    curve = pd.Series(np.asarray(probabilities)).groupby(np.asarray(lengths)).mean()
    x, p = curve.index.to_numpy(dtype=float), curve.to_numpy()
    rising = np.flatnonzero((p[:-1] < 0.5) & (p[1:] >= 0.5))
    crossings = [
        x[i] + (0.5 - p[i]) * (x[i + 1] - x[i]) / (p[i + 1] - p[i]) for i in rising
    ]
    if not crossings:
        return None
    return float(min(crossings, key=lambda length: abs(length - LENGTH_THRESHOLD)))


def state_change(h):
    """How far the state moves at each step: the norm of `h_t - h_{t-1}`,
    (T,) for one sequence `h` (T, U). The first entry is 0: the trace starts
    after step 1."""
    h = np.asarray(h, dtype=np.float64)
    change = np.zeros(len(h))
    change[1:] = np.linalg.norm(np.diff(h, axis=0), axis=1)
    return change


def attention_weights(a, m, d):
    """The weight each step t has in the state at the last step, per unit:
    exp(a_t) / sum_s exp(a_s), computed as exp(a_t - m_T) / d_T.

    Args:
        a, m, d: (T, U) arrays from `Checkpoint.trace` for one sequence.

    Returns:
        (T, U) weights; each column sums to 1.
    """
    a, m, d = (np.asarray(v, dtype=np.float64) for v in (a, m, d))
    return np.exp(a - m[-1]) / d[-1]


def units_moved_most(h, step, count=10):
    """The units whose state changes most at `step`: a DataFrame with columns
    `unit`, `before`, `after`, `change`, largest |change| first.

    Args:
        h: (T, U) state of one sequence; `step` >= 1 indexes it.
    """
    h = np.asarray(h, dtype=np.float64)
    before, after = h[step - 1], h[step]
    change = after - before
    units = np.argsort(-np.abs(change))[:count]
    return pd.DataFrame(
        {
            "unit": units,
            "before": before[units],
            "after": after[units],
            "change": change[units],
        }
    )


def length_sweep(predict, lengths, per_length, seed=0, progress=None):
    """Runs `per_length` random sequences of each length through `predict`.

    Args:
        predict: `Checkpoint.predict`-like: (x (B, T, 1), lengths (B,)) -> (B,).
        lengths: the lengths to probe.
        per_length: sequences per length, each with N(0, 1) values.
        seed: seeds the values.
        progress: optional callable given the fraction done after each length.

    Returns:
        DataFrame with columns `length`, `mean`, `std`, `accuracy`, one row a
        length; and the raw probabilities (len(lengths), per_length).
    """
    lengths = np.asarray(lengths, dtype=np.int32)
    rng = np.random.default_rng(seed)
    probabilities = np.zeros((len(lengths), per_length))
    for i, length in enumerate(lengths):
        x = rng.standard_normal((per_length, max(int(length), 1), 1))
        probabilities[i] = predict(
            x.astype(np.float32), np.full(per_length, length, dtype=np.int32)
        )
        if progress is not None:
            progress((i + 1) / len(lengths))
    truth = (lengths > LENGTH_THRESHOLD)[:, None]
    sweep = pd.DataFrame(
        {
            "length": lengths,
            "mean": probabilities.mean(axis=1),
            "std": probabilities.std(axis=1),
            "accuracy": ((probabilities > 0.5) == truth).mean(axis=1),
        }
    )
    return sweep, probabilities


def top_steps(values, count):
    """The `count` steps with the largest values, largest first."""
    return [int(step) for step in np.argsort(-np.asarray(values))[:count]]
