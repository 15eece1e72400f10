"""One builder for every model kind, with the same inputs and output head.

Every model takes `{"values": (B, T, F), "lengths": (B,)}`: steps at or past
a sequence's length are masked, so a zero-padded batch gives each sequence
its own result. The head is one dense unit on the last state: a sigmoid for
the length task (P(L > 500)), linear for the adding task (the sum).
"""

import keras
from keras import ops

from rwa.layer import RWA
from rwa.tasks import FEATURES, check_task

MODEL_KINDS = ("rwa", "lstm")
UNITS = 250
LEARNING_RATE = 1e-3


@keras.saving.register_keras_serializable(package="rwa")
class LengthMask(keras.layers.Layer):
    """`(B, T)` boolean mask, True where the step is before the length.

    Call arguments:
        inputs: `[values (B, T, F), lengths (B,)]`.
    """

    def call(self, inputs):
        values, lengths = inputs
        steps = ops.arange(ops.shape(values)[1], dtype="int32")
        return steps[None, :] < ops.cast(lengths, "int32")[:, None]

    def compute_output_shape(self, input_shape):
        values_shape, _ = input_shape
        return tuple(values_shape[:2])


def check_model_kind(kind):
    if kind not in MODEL_KINDS:
        raise ValueError(
            f"Argument `model` must be one of {MODEL_KINDS}. Received: {kind!r}"
        )
    return kind


def recurrent_layer(kind, units, name):
    if kind == "rwa":
        return RWA(units, name=name)
    return keras.layers.LSTM(units, unit_forget_bias=True, name=name)


def build_model(kind, task, units=UNITS, seed=None):
    """An uncompiled model of `kind` ("rwa" or "lstm") for `task`.

    `seed` makes the initial weights reproducible.
    """
    check_model_kind(kind)
    check_task(task)
    if seed is not None:
        keras.utils.set_random_seed(seed)

    values = keras.Input((None, FEATURES[task]), name="values")
    lengths = keras.Input((), dtype="int32", name="lengths")
    mask = LengthMask(name="mask")([values, lengths])
    state = recurrent_layer(kind, units, name=kind)(values, mask=mask)  # (B, U)
    activation = "sigmoid" if task == "length" else None
    output = keras.layers.Dense(1, activation=activation, name="head")(state)
    return keras.Model({"values": values, "lengths": lengths}, output, name=kind)


def compile_model(model, task, jit_compile=True):
    """Adam at the paper's learning rate; cross-entropy or MSE. XLA
    (`jit_compile`) makes a training step about a third faster on a CPU."""
    if task == "length":
        loss, metric = (
            "binary_crossentropy",
            keras.metrics.BinaryAccuracy(name="accuracy"),
        )
    else:
        loss, metric = "mse", keras.metrics.MeanSquaredError(name="mse")
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss=loss,
        metrics=[metric],
        jit_compile=jit_compile,
    )
    return model
