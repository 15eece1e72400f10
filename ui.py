"""What the app's pages share: page setup, cached models and traces, and the
widgets that choose a checkpoint and an input. Widgets here hold their value
in the URL (`bind="query-params"`), so a view can be shared and reopened."""

import os
import urllib.parse
from pathlib import Path

import numpy as np
import streamlit as st
import tensorflow as tf

from rwa import tasks
from rwa.checkpoint import CheckpointError, find_checkpoints, load_checkpoint

# The folder the app lists; RWA_LAB_CHECKPOINTS points it elsewhere.
CHECKPOINT_FOLDER = Path(
    os.environ.get("RWA_LAB_CHECKPOINTS", Path(__file__).parent / "checkpoints")
)
# (script, title) of every page, for the sidebar.
PAGES = [
    ("app.py", "Home"),
    ("pages/1_Sequence_length.py", "Sequence length"),
    ("pages/2_Adding_problem.py", "Adding problem"),
    ("pages/3_RWA_attention.py", "Attention"),
    ("pages/4_Training_curves.py", "Training curves"),
    ("pages/5_Compare.py", "Compare"),
]
ADDING_APP_MAX_LENGTH = 5000
UPLOAD_MAX_BYTES = 1_000_000
SEED_MAX = 2**32 - 1  # NumPy's seeds, as rwa.tasks takes them


def setup_page(title):
    """Page config and the shared sidebar; every page calls it first."""
    st.set_page_config(page_title=f"{title} · RWA Lab", layout="wide")
    with st.sidebar:
        for path, label in PAGES:
            st.page_link(path, label=label)
        st.divider()
        st.caption(f"Inference on **{device_name()}**")


@st.cache_resource
def device_name():
    """The GPU TensorFlow runs on, or "CPU"."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"


def quality_label(row):
    """A checkpoint's quality for tables: its test metric when it has been
    evaluated, else its last validation metric."""
    name = "accuracy" if row["task"] == "length" else "MSE"
    if row["test_metric"] is not None:
        return f"test {name} {row['test_metric']:.4g}"
    if row["val_metric"] is not None:
        return f"validation {name} {row['val_metric']:.4g}"
    return "–"


def checkpoints(task=None, model=None):
    """Loadable-looking checkpoints (metadata readable), optionally filtered
    by task and by model kind (one kind or a tuple of kinds)."""
    kinds = (model,) if isinstance(model, str) else model
    return [
        row
        for row in find_checkpoints(CHECKPOINT_FOLDER)
        if row["error"] is None
        and task in (None, row["task"])
        and (kinds is None or row["model"] in kinds)
    ]


@st.cache_resource(max_entries=16, show_spinner="Loading model…")
def _load(path, modified):
    # `modified` is part of the cache key, so a retrained file is reloaded.
    return load_checkpoint(path)


def load(path):
    """The checkpoint at `path`, or None after showing why it can't load."""
    try:
        return _load(str(path), Path(path).stat().st_mtime)
    except (CheckpointError, OSError) as error:
        st.error(f"Cannot load this checkpoint: {error}")
        return None


@st.cache_data(max_entries=32, show_spinner="Running the model…")
def run_model(path, modified, values, layer):
    """Prediction and trace (of recurrent layer `layer`) of one sequence
    `values` (T, F)."""
    ckpt = _load(path, modified)
    x = values[None]
    return float(ckpt.predict(x)[0]), {
        name: array[0] for name, array in ckpt.trace(x, layer=layer).items()
    }


def run(ckpt, example, layer=0):
    """`(prediction, trace)` for one example, cached per input."""
    path = str(ckpt.path)
    return run_model(path, Path(path).stat().st_mtime, example.values, layer)


def choose_layer(ckpt, key="layer"):
    """Which recurrent layer's state to show: a select box for models with
    more than one (stacked RWA), else 0."""
    if ckpt.num_recurrent_layers == 1:
        return 0
    options = list(range(ckpt.num_recurrent_layers))
    return st.selectbox(
        "Layer", options, format_func=lambda i: f"RWA layer {i + 1}", key=key
    )


def linked(widget, label, *args, key, **kwargs):
    """`widget(label, *args, **kwargs)` with its value kept in the URL under
    `key`. Streamlit drops a value in an opened link that the widget cannot
    take (a checkpoint not in the folder, a number out of range); this says
    so on the page instead of silently showing the default."""
    opened = key not in st.session_state  # first run of this widget
    requested = st.query_params.get(key)
    shown = requested if len(requested or "") <= 40 else requested[:40] + "…"
    try:
        value = widget(label, *args, key=key, bind="query-params", **kwargs)
    except OverflowError:
        # Note: Streamlit fails while reading an infinite number from the
        # link into an integer box, and would fail again on every rerun of
        # this link; the page stops with a link that leaves the value out.
        st.error(f"`{key}={shown}` in the link is not a number “{label}” can take.")
        rest = {name: text for name, text in st.query_params.items() if name != key}
        st.markdown(f"[Open this page without it](?{urllib.parse.urlencode(rest)})")
        st.stop()
    if opened and requested is not None and not _same(requested, value):
        st.warning(
            f"Ignored `{key}={shown}` from the link: not a valid value for "
            f"“{label}”. Showing {value}."
        )
    return value


def _same(text, value):
    """Whether the URL text `text` stands for the widget value `value`."""
    try:
        return float(text) == float(value)
    except (TypeError, ValueError):
        return text == str(value)


def choose_checkpoint(task=None, model=None, key="model", label="Model", index=0):
    """A select box of checkpoints; the loaded Checkpoint, or None (with a
    message on the page) when there is none or it fails to load."""
    rows = checkpoints(task, model)
    if not rows:
        kinds = model if isinstance(model, (str, type(None))) else "/".join(model)
        wanted = " ".join(filter(None, [kinds, task]))
        st.warning(f"No {wanted} checkpoint found in {CHECKPOINT_FOLDER}.")
        return None
    names = [row["name"] for row in rows]
    index = min(index, len(names) - 1)
    name = linked(st.selectbox, label, names, index=index, key=key)
    return load(CHECKPOINT_FOLDER / f"{name}.keras")


def length_input(prefix=""):
    """Widgets for a length-task sequence: L (slider and box) and a seed, or
    an uploaded CSV. Returns an Example, or None after showing an error."""
    key = f"{prefix}L"

    def from_slider():
        st.session_state[key] = st.session_state[f"{key}_slider"]

    def from_box():
        st.session_state[f"{key}_slider"] = st.session_state[key]

    slider_column, box_column, seed_column = st.columns([4, 1, 1])
    length = linked(
        box_column.number_input,
        "L",
        0,
        tasks.LENGTH_MAX,
        value=600,
        key=key,
        on_change=from_box,
    )
    st.session_state.setdefault(f"{key}_slider", length)
    slider_column.slider(
        "Sequence length L",
        0,
        tasks.LENGTH_MAX,
        key=f"{key}_slider",
        on_change=from_slider,
    )
    seed = linked(seed_column.number_input, "Seed", 0, SEED_MAX, 0, key=f"{prefix}seed")
    upload = st.file_uploader(
        "…or upload a CSV of values (one number a row, at most 1000 rows)",
        type=["csv", "txt"],
        key=f"{prefix}upload",
    )
    try:
        if upload is not None:
            values = tasks.read_values_csv(upload.getvalue(), UPLOAD_MAX_BYTES)
            if len(values) > tasks.LENGTH_MAX:
                raise ValueError(
                    f"The file holds {len(values):,} numbers; at most "
                    f"{tasks.LENGTH_MAX:,} are accepted, one a step"
                )
            return tasks.length_example(None, values=values)
        return tasks.length_example(length, seed=seed)
    except ValueError as error:
        st.error(str(error))
        return None


def adding_input(default_length, prefix=""):
    """Widgets for an adding-task sequence: T, two markers, and the values
    (seeded random, or the two marked values typed). T and the markers start
    at `default_length` and its defaults, and start there again when
    `default_length` changes (a model trained on another T was picked).
    Returns an Example, or None after showing an error."""
    default_length = int(default_length)
    last_default = f"{prefix}default_T"
    if st.session_state.get(last_default, default_length) != default_length:
        _set_adding_defaults(prefix, default_length)
    st.session_state[last_default] = default_length
    first_default, second_default = _default_markers(default_length)
    columns = st.columns(4)
    length = linked(
        columns[0].number_input,
        f"Length T (2 to {ADDING_APP_MAX_LENGTH})",
        value=default_length,
        step=1,
        key=f"{prefix}T",
        on_change=_fit_markers,
        args=(prefix,),
    )
    first = linked(
        columns[1].number_input,
        "First marker",
        value=first_default,
        step=1,
        key=f"{prefix}m1",
    )
    second = linked(
        columns[2].number_input,
        "Second marker",
        value=second_default,
        step=1,
        key=f"{prefix}m2",
    )
    seed = linked(columns[3].number_input, "Seed", 0, SEED_MAX, 0, key=f"{prefix}seed")
    typed = st.toggle("Type the two marked values", key=f"{prefix}typed")
    marked_values = None
    if typed:
        left, right = st.columns(2)
        marked_values = (
            left.number_input("First marked value", 0.0, 1.0, 0.5, key=f"{prefix}v1"),
            right.number_input("Second marked value", 0.0, 1.0, 0.5, key=f"{prefix}v2"),
        )
    if not tasks.ADDING_MIN_LENGTH <= length <= ADDING_APP_MAX_LENGTH:
        st.error(
            f"Length T must be between {tasks.ADDING_MIN_LENGTH} and "
            f"{ADDING_APP_MAX_LENGTH}; got {length}."
        )
        return None
    try:
        return tasks.adding_example(
            length, (first, second), seed=seed, marked_values=marked_values
        )
    except ValueError as error:
        st.error(str(error))
        return None


def _default_markers(length):
    """The markers an adding input of `length` steps starts with."""
    return length // 10, length * 6 // 10


def _set_adding_defaults(prefix, length):
    first, second = _default_markers(length)
    st.session_state.update(
        {f"{prefix}T": length, f"{prefix}m1": first, f"{prefix}m2": second}
    )


def _fit_markers(prefix):
    """After T changes: markers that no longer lie in [0, T) move to the
    new T's defaults."""
    length = st.session_state[f"{prefix}T"]
    markers = st.session_state[f"{prefix}m1"], st.session_state[f"{prefix}m2"]
    in_range = all(0 <= marker < length for marker in markers)
    if length >= tasks.ADDING_MIN_LENGTH and not in_range:
        _set_adding_defaults(prefix, length)


def example_input(ckpt, prefix):
    """The input widgets for `ckpt`'s task (see `length_input` and
    `adding_input`); the Example, or None after showing why not."""
    if ckpt.task == "length":
        return length_input(prefix)
    return adding_input(ckpt.metadata.get("length") or 100, prefix)


def marker_note(example):
    if example.markers:
        return f"markers at steps {example.markers[0]} and {example.markers[1]}"
    return ""


def stride_note(stride, steps):
    """Says under a heatmap that it shows one step in `stride` of `steps`."""
    if stride > 1:
        rows = len(range(0, steps, stride))
        st.caption(f"The heatmap shows one step in {stride}: {rows} of {steps} steps.")


def stride_for(steps, max_rows=2000):
    """Every how many steps a heatmap shows so it stays under `max_rows`."""
    return max(1, int(np.ceil(steps / max_rows)))
