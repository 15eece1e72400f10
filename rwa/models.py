"""One builder for every model kind, with the same inputs and output head.

Kinds: `rwa` and `lstm` (one layer of 250 units, as in the paper);
`stacked-rwa` (two RWA layers, the first returning every step);
`lstm-attention` (an LSTM whose states are averaged by learned attention).

Every model takes `{"values": (B, T, F), "lengths": (B,)}`: steps at or past
a sequence's length are masked, so a zero-padded batch gives each sequence
its own result. The head is one dense unit on the last state: a sigmoid for
the length task (P(L > 500)), linear for the adding task (the sum).
"""

import keras
from keras import ops

from rwa.layer import RWA
from rwa.tasks import FEATURES, check_task

MODEL_KINDS = ("rwa", "lstm", "stacked-rwa", "lstm-attention")
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


@keras.saving.register_keras_serializable(package="rwa")
class AttentionPooling(keras.layers.Layer):
    """A learned weighted average over time of a sequence of states:
    `score_t = v . tanh(h_t W + b)`, `alpha = softmax(score)` over the
    unmasked steps, output `sum_t alpha_t h_t`.

    Call arguments:
        inputs: `(B, T, U)`.
        mask: optional boolean `(B, T)`.

    Returns `(B, U)`.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.supports_masking = True

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(features, self.units), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(
            shape=(self.units,), initializer="zeros", name="bias"
        )
        self.score = self.add_weight(
            shape=(self.units,), initializer="glorot_uniform", name="score"
        )

    def weights_over_time(self, inputs, mask=None):
        """`alpha` (B, T): each step's weight; masked steps get 0."""
        scores = ops.tanh(ops.matmul(inputs, self.kernel) + self.bias)
        scores = ops.matmul(scores, self.score[:, None])[..., 0]  # (B, T)
        if mask is not None:
            scores = ops.where(mask, scores, -1e9)
        return ops.softmax(scores, axis=-1)

    def call(self, inputs, mask=None):
        alpha = self.weights_over_time(inputs, mask)
        return ops.sum(alpha[..., None] * inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def lstm(units, name, return_sequences=False):
    return keras.layers.LSTM(
        units, unit_forget_bias=True, return_sequences=return_sequences, name=name
    )


def recurrent_stack(kind, units, values, mask):
    """The recurrent part of each kind, from `values` (B, T, F) to (B, U)."""
    if kind == "rwa":
        return RWA(units, name="rwa")(values, mask=mask)
    if kind == "lstm":
        return lstm(units, "lstm")(values, mask=mask)
    if kind == "stacked-rwa":
        states = RWA(units, return_sequences=True, name="rwa_1")(values, mask=mask)
        return RWA(units, name="rwa_2")(states, mask=mask)
    states = lstm(units, "lstm", return_sequences=True)(values, mask=mask)
    return AttentionPooling(units, name="attention")(states, mask=mask)


def build_model(kind, task, units=UNITS, seed=None):
    """An uncompiled model of `kind` (one of MODEL_KINDS) for `task`.

    `seed` makes the initial weights reproducible.
    """
    check_model_kind(kind)
    check_task(task)
    if seed is not None:
        keras.utils.set_random_seed(seed)

    values = keras.Input((None, FEATURES[task]), name="values")
    lengths = keras.Input((), dtype="int32", name="lengths")
    mask = LengthMask(name="mask")([values, lengths])
    state = recurrent_stack(kind, units, values, mask)  # (B, U)
    activation = "sigmoid" if task == "length" else None
    output = keras.layers.Dense(1, activation=activation, name="head")(state)
    return keras.Model({"values": values, "lengths": lengths}, output, name=kind)


def uses_xla(kind):
    """Whether the training step of `kind` is compiled with XLA by default.

    XLA takes 5-28 % off the step of `rwa` and `lstm` on a CPU.
    Note: with a recurrent layer that returns every step (`stacked-rwa`,
    `lstm-attention`), the XLA-compiled step grows much faster than the
    length: at T = 1000 it is 4.5 and 6.6 times slower than without XLA
    (`python -m rwa.bench --all-kinds`), so those kinds train without it.
    """
    return check_model_kind(kind) in ("rwa", "lstm")


def compile_model(model, task, learning_rate=LEARNING_RATE, jit_compile=None):
    """Adam at the paper's learning rate; cross-entropy or MSE.

    `jit_compile`: whether XLA compiles the training step; `None` (the
    default) compiles it where that is faster, as `uses_xla` says, for a
    model from `build_model`, and leaves any other model to Keras ("auto").
    """
    if jit_compile is None:
        jit_compile = uses_xla(model.name) if model.name in MODEL_KINDS else "auto"
    if task == "length":
        loss, metric = (
            "binary_crossentropy",
            keras.metrics.BinaryAccuracy(name="accuracy"),
        )
    else:
        loss, metric = "mse", keras.metrics.MeanSquaredError(name="mse")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=[metric],
        jit_compile=jit_compile,
    )
    return model
