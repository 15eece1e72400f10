"""The Recurrent Weighted Average (RWA) layer for Keras 3.

Reference:
    [1] J. Ostmeyer and L. Cowell, "Machine Learning on Sequential Data Using a
        Recurrent Weighted Average", arXiv:1703.01253 (2017).

The state is a running average of the features `z_t`, weighted by `exp(a_t)`
([1], eqs. 2-7):

    h_0 = tanh(s_0),   n_0 = d_0 = 0
    u_t = x_t W_u + b_u
    g_t = [x_t, h_{t-1}] W_g + b_g
    a_t = [x_t, h_{t-1}] W_a              (no bias: it cancels in n / d)
    z_t = u_t * tanh(g_t)
    n_t = n_{t-1} + z_t * exp(a_t)
    d_t = d_{t-1} + exp(a_t)
    h_t = tanh(n_t / d_t)

`exp(a_t)` overflows after a few steps, so the code keeps the running maximum
`m_t = max(m_{t-1}, a_t)` and stores `n` and `d` scaled by `exp(-m_t)`
([1], appendix B). Rescaling by `max(a_t, 0)` instead, as some copies do,
discounts the past and is not the paper's model.

Shape letters: B batch, T timesteps, F input features, U units.
"""

import keras
import numpy as np
from keras import ops

# Note: `rnn` is the loop that `keras.layers.RNN` itself runs; Keras does not
# export it, so it is taken from `keras.src` like the built-in layers take it.
from keras.src.backend import rnn as keras_rnn

RECURRENT_STATES = ("n", "d", "m", "h")


def _lowest(dtype):
    """The most negative finite number of `dtype`: the running maximum before
    any step. It must stay finite in float16, where -1e38 would become -inf
    and `-inf - (-inf)` a NaN."""
    return float(np.finfo(keras.backend.standardize_dtype(dtype)).min)


@keras.saving.register_keras_serializable(package="rwa")
class RWACell(keras.layers.Layer):
    """One step of the Recurrent Weighted Average.

    Args:
        units: Positive integer, dimensionality of the state `h`.
        kernel_initializer: Initializer for `kernel_u`, `kernel_g` and
            `kernel_a`. Default: `"glorot_uniform"`, the uniform distribution
            with scale `sqrt(6 / (fan_in + fan_out))` used by the paper's
            authors.
        bias_initializer: Initializer for `bias_u` and `bias_g`. Default:
            `"zeros"`.
        initial_state_initializer: Initializer for the learned `s_0`
            (`h_0 = tanh(s_0)`). Default: normal with mean 0 and standard
            deviation 1, as in the authors' code.
        kernel_regularizer: Regularizer for the three kernels.
        bias_regularizer: Regularizer for the two biases.

    Call arguments:
        inputs: `(B, F)`, the input at one step.
        states: list `[n, d, m, h]`, each `(B, U)`.

    Returns `(h, [n, d, m, h])`, the output and the new states.
    """

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        initial_state_initializer=None,
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)):
            raise ValueError(
                f"Argument `units` must be a positive integer. Received: "
                f"units={units!r}"
            )
        if units <= 0:
            raise ValueError(
                f"Argument `units` must be a positive integer. Received: units={units}"
            )
        super().__init__(**kwargs)
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.initial_state_initializer = keras.initializers.get(
            initial_state_initializer
            or keras.initializers.RandomNormal(mean=0.0, stddev=1.0)
        )
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.state_size = [self.units] * len(RECURRENT_STATES)
        self.output_size = self.units

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                "The last dimension of the inputs to RWACell must be known. "
                f"Received: input_shape={input_shape}"
            )
        units = self.units

        def kernel(name, rows):
            return self.add_weight(
                shape=(rows, units),
                name=name,
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
            )

        def bias(name):
            return self.add_weight(
                shape=(units,),
                name=name,
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

        self.kernel_u = kernel("kernel_u", features)
        self.bias_u = bias("bias_u")
        self.kernel_g = kernel("kernel_g", features + units)
        self.bias_g = bias("bias_g")
        self.kernel_a = kernel("kernel_a", features + units)
        self.initial_state = self.add_weight(
            shape=(units,),
            name="initial_state",
            initializer=self.initial_state_initializer,
        )
        self.features = features

    def get_initial_state(self, batch_size=None):
        """`[n_0, d_0, m_0, h_0]`: zeros, zeros, the lowest finite number,
        and `tanh(s_0)`, each `(B, U)`."""
        shape = (batch_size, self.units)
        dtype = self.compute_dtype
        h_0 = ops.tanh(ops.cast(self.initial_state, dtype))
        return [
            ops.zeros(shape, dtype=dtype),
            ops.zeros(shape, dtype=dtype),
            ops.full(shape, _lowest(dtype), dtype=dtype),
            ops.broadcast_to(h_0[None, :], shape),
        ]

    def project_inputs(self, inputs):
        """The parts of `u`, `g` and `a` that depend on the input only.

        Args:
            inputs: `(..., F)`.

        Returns:
            `(..., 3U)`: `x W_u + b_u`, `x W_g[:F] + b_g`, `x W_a[:F]`.
        """
        features = self.features
        kernel = ops.concatenate(
            [self.kernel_u, self.kernel_g[:features], self.kernel_a[:features]],
            axis=1,
        )  # (F, 3U)
        bias = ops.concatenate(
            [self.bias_u, self.bias_g, ops.zeros_like(self.bias_g)]
        )  # (3U,)
        return ops.matmul(inputs, kernel) + bias

    def recurrent_kernel(self):
        """`W_g[F:]` and `W_a[F:]` side by side: `(U, 2U)`, the one product
        of each step that depends on `h_{t-1}`."""
        features = self.features
        return ops.concatenate(
            [self.kernel_g[features:], self.kernel_a[features:]], axis=1
        )

    def step(self, projected, states, recurrent_kernel):
        """One step from the projected input `(B, 3U)`.

        Returns `(h, [n, d, m, h], a)`.
        """
        n_prev, d_prev, m_prev, h_prev = states
        u, g_x, a_x = ops.split(projected, 3, axis=-1)
        g_a_h = ops.matmul(h_prev, recurrent_kernel)  # (B, 2U)
        g_h, a_h = ops.split(g_a_h, 2, axis=-1)
        g = g_x + g_h
        a = a_x + a_h

        z = u * ops.tanh(g)
        m = ops.maximum(m_prev, a)
        decay = ops.exp(m_prev - m)  # rescales the old sums to the new maximum
        weight = ops.exp(a - m)
        n = n_prev * decay + z * weight
        d = d_prev * decay + weight
        h = ops.tanh(n / d)
        return h, [n, d, m, h], a

    def call(self, inputs, states):
        projected = self.project_inputs(inputs)
        h, new_states, _ = self.step(projected, states, self.recurrent_kernel())
        return h, new_states

    def get_config(self):
        config = {
            "units": self.units,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "initial_state_initializer": keras.initializers.serialize(
                self.initial_state_initializer
            ),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="rwa")
class RWA(keras.layers.RNN):
    """Recurrent Weighted Average layer (Ostmeyer & Cowell, 2017).

    Argument names follow `keras.layers.LSTM` where they mean the same.

    Args:
        units: Positive integer, dimensionality of the state.
        kernel_initializer, bias_initializer, initial_state_initializer,
        kernel_regularizer, bias_regularizer: as in `RWACell`.
        return_sequences: Whether to return the state at every step
            `(B, T, U)` or only the last one `(B, U)`. Default: `False`.
        return_state: Whether to return the final states `n, d, m, h` after
            the output. Default: `False`.
        go_backwards: If `True`, read the sequence backwards.
        stateful: If `True`, the last states of each batch are the initial
            states of the next; `reset_state()` restores `h_0 = tanh(s_0)`.
        zero_output_for_mask: If `True`, masked steps output zeros with
            `return_sequences`; otherwise they repeat the last output.

    Call arguments:
        inputs: `(B, T, F)`.
        mask: optional boolean `(B, T)`; a masked step leaves every state as
            it was.
        initial_state: optional list `[n, d, m, h]` of `(B, U)` tensors.

    Example:

    >>> x = np.random.normal(size=(4, 10, 2)).astype("float32")
    >>> RWA(8, return_sequences=True)(x).shape
    TensorShape([4, 10, 8])
    """

    def __init__(
        self,
        units,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        initial_state_initializer=None,
        kernel_regularizer=None,
        bias_regularizer=None,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        zero_output_for_mask=False,
        **kwargs,
    ):
        if kwargs.pop("unroll", False):
            raise ValueError(
                "RWA does not unroll: its loop is compiled by XLA. Received: "
                "unroll=True"
            )
        cell = RWACell(
            units,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            initial_state_initializer=initial_state_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            dtype=kwargs.get("dtype"),
            name="rwa_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            zero_output_for_mask=zero_output_for_mask,
            **kwargs,
        )

    @property
    def units(self):
        return self.cell.units

    def inner_loop(self, sequences, initial_state, mask, training=False):
        # Note: the input halves of all three products are done for every step
        # at once before the loop; the loop keeps one (U, 2U) product a step.
        _, outputs, states = self._run(sequences, initial_state, mask, False)
        # Note: the last output is the final `h` state, not the loop's last
        # output, so that a fully masked sequence gives `h_0`, not zeros.
        return states[-1], outputs, states

    def _run(self, sequences, initial_state, mask, trace):
        cell = self.cell
        projected = cell.project_inputs(sequences)  # (B, T, 3U)
        recurrent_kernel = cell.recurrent_kernel()

        def step(projected_t, states):
            h, new_states, a = cell.step(projected_t, states, recurrent_kernel)
            if trace:
                n, d, m, _ = new_states
                return ops.concatenate([h, a, n, d, m], axis=-1), new_states
            return h, new_states

        return keras_rnn(
            step,
            projected,
            list(initial_state),
            go_backwards=self.go_backwards,
            mask=mask,
            input_length=sequences.shape[1],
            zero_output_for_mask=self.zero_output_for_mask,
            return_all_outputs=self.return_sequences or trace,
        )

    def trace(self, sequences, mask=None):
        """Every state at every step, for inspection.

        Args:
            sequences: `(B, T, F)`.
            mask: optional boolean `(B, T)`.

        Returns:
            dict of `(B, T, U)` tensors: `"h"` the output; `"a"` the attention
            logits; `"n"` and `"d"` scaled by `exp(-m)`; `"m"` the running
            maximum of `a`. At a masked step each repeats its last value.
        """
        if not self.built:
            self.build(sequences.shape)
        sequences = ops.convert_to_tensor(sequences, dtype=self.compute_dtype)
        initial_state = self.cell.get_initial_state(ops.shape(sequences)[0])
        if mask is not None:
            mask = ops.convert_to_tensor(mask, dtype="bool")
        _, outputs, _ = self._run(sequences, initial_state, mask, trace=True)
        h, a, n, d, m = ops.split(outputs, 5, axis=-1)
        return {"h": h, "a": a, "n": n, "d": d, "m": m}

    def reset_state(self):
        # Note: stateful states are made from `s_0` when the layer is built;
        # after `set_weights` or loading, call `reset_state()` to start from
        # the new `h_0`.
        if self.states is None:
            return
        batch_size = self.states[0].shape[0]
        for variable, value in zip(
            self.states, self.cell.get_initial_state(batch_size)
        ):
            variable.assign(ops.cast(value, variable.dtype))

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        for key in ("name", "trainable", "dtype"):
            cell_config.pop(key, None)
        config.pop("unroll", None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
