"""The RWA layer against a plain float64 NumPy loop of the paper's equations."""

import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from rwa import RWA, RWACell


def reference_rwa(x, weights, lengths=None):
    """The paper's equations, one step at a time, in float64, with `n` and
    `d` kept unscaled. Returns every `h` (B, T, U) and the final one."""
    w_u, b_u, w_g, b_g, w_a, s_0 = (np.float64(w) for w in weights)
    batch, steps, _ = x.shape
    units = b_u.shape[0]
    lengths = np.full(batch, steps) if lengths is None else lengths
    outputs = np.zeros((batch, steps, units))
    finals = np.zeros((batch, units))
    for b in range(batch):
        h = np.tanh(s_0)
        n = np.zeros(units)
        d = np.zeros(units)
        for t in range(lengths[b]):
            x_t = np.float64(x[b, t])
            x_h = np.concatenate([x_t, h])
            u = x_t @ w_u + b_u
            g = x_h @ w_g + b_g
            a = x_h @ w_a
            z = u * np.tanh(g)
            n = n + z * np.exp(a)
            d = d + np.exp(a)
            h = np.tanh(n / d)
            outputs[b, t] = h
        outputs[b, lengths[b] :] = h
        finals[b] = h
    return outputs, finals


def random_layer(units, features, seed, batch=None, **kwargs):
    layer = RWA(units, **kwargs)
    layer.build((batch, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights(
        [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.weights]
    )
    return layer


@pytest.mark.parametrize(
    "batch, steps, features, units", [(1, 1, 1, 1), (3, 7, 2, 5), (4, 40, 3, 16)]
)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_matches_numpy_reference(batch, steps, features, units, return_sequences):
    layer = random_layer(units, features, seed=steps, return_sequences=return_sequences)
    x = np.random.default_rng(1).normal(size=(batch, steps, features))
    x = x.astype("float32")

    got = layer(x).numpy()

    outputs, finals = reference_rwa(x, layer.get_weights())
    expected = outputs if return_sequences else finals
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-6)


def test_fixed_weights_hard_coded_numbers():
    layer = RWA(2)
    layer.build((None, None, 1))
    layer.set_weights(
        [
            np.array([[1.0, -1.0]]),  # kernel_u
            np.array([0.5, 0.0]),  # bias_u
            np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),  # kernel_g
            np.array([0.0, 0.5]),  # bias_g
            np.array([[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]),  # kernel_a
            np.array([0.0, 0.0]),  # initial_state
        ]
    )
    x = np.array([[[1.0], [-2.0]]], dtype="float32")
    # Worked by hand from the equations: step 1 has h_0 = 0, so
    # z_1 = (1.5, -1) * tanh((1, 0.5)) and h_1 = tanh(z_1).
    z_1 = np.array([1.5, -1.0]) * np.tanh([1.0, 0.5])
    h_1 = np.tanh(z_1)
    x_h = np.array([-2.0, *h_1])
    z_2 = (np.array([-2.0, 2.0]) + [0.5, 0.0]) * np.tanh(
        x_h @ [[1, 0], [0, 1], [1, 1]] + [0.0, 0.5]
    )
    a_1 = np.array([1.0, 0.0, 0.0]) @ [[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]
    a_2 = x_h @ [[0.5, -0.5], [1.0, 0.0], [0.0, 1.0]]
    h_2 = np.tanh((z_1 * np.exp(a_1) + z_2 * np.exp(a_2)) / (np.exp(a_1) + np.exp(a_2)))
    np.testing.assert_allclose(layer(x).numpy()[0], h_2, rtol=1e-6)
    np.testing.assert_allclose(h_2, [0.84955564, 0.73331457], rtol=1e-6)


def test_cell_matches_layer_step_by_step():
    layer = random_layer(6, 3, seed=2, return_sequences=True)
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
    states = layer.cell.get_initial_state(2)
    for t in range(5):
        h, states = layer.cell(x[:, t], states)
        np.testing.assert_allclose(h, layer(x)[:, t], rtol=1e-5, atol=1e-6)


def test_masked_padded_batch_matches_each_sequence_alone():
    layer = random_layer(8, 2, seed=4, return_sequences=True)
    rng = np.random.default_rng(5)
    lengths = np.array([7, 3, 0, 5])
    x = rng.normal(size=(4, 7, 2)).astype("float32")
    x[np.arange(7)[None, :] >= lengths[:, None]] = 0.0
    mask = np.arange(7)[None, :] < lengths[:, None]

    padded = layer(x, mask=mask).numpy()
    last = RWA.from_config({**layer.get_config(), "return_sequences": False})
    last.build((None, None, 2))
    last.set_weights(layer.get_weights())
    finals = last(x, mask=mask).numpy()

    h_0 = np.tanh(layer.get_weights()[-1])
    for b, length in enumerate(lengths):
        if length == 0:
            np.testing.assert_allclose(finals[b], h_0, rtol=1e-6)
            continue
        alone = layer(x[b : b + 1, :length]).numpy()[0]
        np.testing.assert_allclose(padded[b, :length], alone, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(finals[b], alone[-1], rtol=1e-5, atol=1e-6)
    outputs, _ = reference_rwa(x, layer.get_weights(), lengths)
    np.testing.assert_allclose(finals, outputs[:, -1], rtol=1e-5, atol=2e-6)


def test_masked_step_leaves_every_state_unchanged():
    layer = random_layer(4, 1, seed=6, return_state=True)
    x = np.random.default_rng(7).normal(size=(1, 6, 1)).astype("float32")
    mask = np.array([[True, True, True, False, False, False]])
    _, *masked = layer(x, mask=mask)
    _, *alone = layer(x[:, :3])
    for got, expected in zip(masked, alone):
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_long_sequences_and_large_logits_stay_finite():
    layer = random_layer(4, 1, seed=8)
    x = np.random.default_rng(9).normal(size=(2, 20000, 1)).astype("float32")
    assert np.isfinite(layer(x).numpy()).all()

    # Logits of about 1e3: exp(a) alone would overflow float32 at 89.
    big = random_layer(3, 1, seed=10, return_sequences=True)
    weights = big.get_weights()
    weights[4] = weights[4] * 0 + 250.0  # kernel_a
    big.set_weights(weights)
    x = np.full((1, 50, 1), 4.0, dtype="float32")
    trace = big.trace(x)
    assert np.abs(trace["a"].numpy()).max() > 900
    got = big(x).numpy()
    assert np.isfinite(got).all()
    outputs, _ = reference_rwa_stable(x, weights)
    np.testing.assert_allclose(got, outputs, rtol=1e-5, atol=1e-6)


def reference_rwa_stable(x, weights, lengths=None):
    """The reference loop with weights `exp(a_t - max_s a_s)`: the same
    average, computed without overflow for checking large logits."""
    w_u, b_u, w_g, b_g, w_a, s_0 = (np.float64(w) for w in weights)
    batch, steps, _ = x.shape
    lengths = np.full(batch, steps) if lengths is None else lengths
    outputs = np.zeros((batch, steps, b_u.shape[0]))
    for b in range(batch):
        h = np.tanh(s_0)
        zs, logits = [], []
        for t in range(lengths[b]):
            x_h = np.concatenate([x[b, t], h])
            zs.append((x[b, t] @ w_u + b_u) * np.tanh(x_h @ w_g + b_g))
            logits.append(x_h @ w_a)
            weight = np.exp(np.array(logits) - np.max(logits, axis=0))
            h = np.tanh((weight * np.array(zs)).sum(0) / weight.sum(0))
            outputs[b, t] = h
        outputs[b, lengths[b] :] = h
    return outputs, h


def test_not_the_max_a_zero_variant():
    """The stored n, d are scaled by exp(-running max of a), including when
    every a is negative (the wrong variant scales by max(a, 0))."""
    layer = random_layer(3, 1, seed=11, return_sequences=True)
    weights = layer.get_weights()
    weights[4] = -np.abs(weights[4]) - 3.0
    layer.set_weights(weights)
    x = np.abs(np.random.default_rng(12).normal(size=(1, 30, 1))).astype("float32")
    trace = layer.trace(x)
    a, m, d = (trace[k].numpy() for k in ("a", "m", "d"))
    assert (a < 0).all()
    np.testing.assert_allclose(m, np.maximum.accumulate(a, axis=1), rtol=1e-6)
    np.testing.assert_allclose(
        d, np.cumsum(np.exp(np.float64(a)), axis=1) / np.exp(np.float64(m)), rtol=1e-5
    )
    outputs, _ = reference_rwa(x, weights)
    np.testing.assert_allclose(layer(x).numpy(), outputs, rtol=1e-5, atol=1e-6)


def test_initial_state_gets_gradient():
    layer = random_layer(5, 2, seed=13)
    x = tf.constant(np.random.default_rng(14).normal(size=(3, 9, 2)), tf.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    gradient = tape.gradient(loss, layer.cell.initial_state.value)
    assert gradient is not None
    assert np.abs(gradient.numpy()).max() > 0
    assert "initial_state" in [w.name for w in layer.trainable_weights]


def test_weight_names_and_shapes():
    layer = RWA(7)
    layer.build((None, None, 3))
    shapes = {w.name: tuple(w.shape) for w in layer.weights}
    assert shapes == {
        "kernel_u": (3, 7),
        "bias_u": (7,),
        "kernel_g": (10, 7),
        "bias_g": (7,),
        "kernel_a": (10, 7),
        "initial_state": (7,),
    }


def test_stateful_reset_restores_learned_initial_state():
    layer = random_layer(4, 1, seed=15, batch=2, stateful=True, return_state=True)
    x = np.random.default_rng(16).normal(size=(2, 5, 1)).astype("float32")
    layer(x)
    h_0 = np.tanh(layer.cell.initial_state.numpy())
    assert not np.allclose(layer.states[3].numpy(), h_0)
    layer.reset_state()
    np.testing.assert_allclose(layer.states[3].numpy(), np.tile(h_0, (2, 1)), rtol=1e-6)
    np.testing.assert_array_equal(layer.states[1].numpy(), 0.0)
    # After a reset the next call is the same as a fresh, stateless run.
    fresh = RWA.from_config({**layer.get_config(), "stateful": False})
    fresh.build((None, None, 1))
    fresh.set_weights(layer.get_weights())
    np.testing.assert_allclose(layer(x)[0], fresh(x)[0], rtol=1e-6)


def test_stateful_continues_across_batches():
    layer = random_layer(4, 1, seed=17, batch=2, stateful=True)
    layer.reset_state()  # the states were made from s_0 before set_weights
    x = np.random.default_rng(18).normal(size=(2, 10, 1)).astype("float32")
    layer(x[:, :4])
    split = layer(x[:, 4:]).numpy()
    _, finals = reference_rwa(x, layer.get_weights())
    np.testing.assert_allclose(split, finals, rtol=1e-5, atol=1e-6)


def test_mixed_float16_stays_finite():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer = RWA(8, return_sequences=True)
        x = np.random.default_rng(19).normal(size=(2, 300, 1)).astype("float32")
        out = layer(x, mask=np.arange(300)[None, :] < np.array([[300], [10]]))
        assert out.dtype == "float16"
        assert np.isfinite(out.numpy()).all()
        assert np.isfinite(layer.cell.get_initial_state(1)[2].numpy()).all()
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_config_round_trip():
    layer = RWA(
        6,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        kernel_regularizer="l2",
        initial_state_initializer="zeros",
    )
    clone = RWA.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.units == 6 and clone.go_backwards and clone.return_state


def test_go_backwards_reads_reversed_sequence():
    layer = random_layer(3, 2, seed=20, go_backwards=True)
    x = np.random.default_rng(21).normal(size=(2, 6, 2)).astype("float32")
    _, finals = reference_rwa(x[:, ::-1], layer.get_weights())
    np.testing.assert_allclose(layer(x).numpy(), finals, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", None, True])
def test_bad_units_name_the_argument(units):
    with pytest.raises(ValueError, match="units"):
        RWACell(units)


def test_saved_model_reloads_in_fresh_process(tmp_path):
    inputs = keras.Input((None, 2))
    outputs = keras.layers.Dense(1)(RWA(5)(inputs))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(22).normal(size=(3, 11, 2)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    script = (
        "import sys, numpy as np, keras, rwa\n"
        f"m = keras.saving.load_model({str(path)!r}, safe_mode=True)\n"
        f"np.save({str(tmp_path / 'y.npy')!r}, "
        f"m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0))\n"
        "print([w.name for w in m.weights])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert "initial_state" in result.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), expected)


def test_unroll_is_refused():
    with pytest.raises(ValueError, match="unroll"):
        RWA(4, unroll=True)


def numeric_gradients(loss, arrays, eps=1e-6):
    """Central differences of the scalar `loss(*arrays)` for every entry."""
    gradients = []
    for i, array in enumerate(arrays):
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            shifted = []
            for sign in (1.0, -1.0):
                moved = [a.copy() for a in arrays]
                moved[i][index] += sign * eps
                shifted.append(loss(*moved))
            gradient[index] = (shifted[0] - shifted[1]) / (2 * eps)
        gradients.append(gradient)
    return gradients


@pytest.mark.parametrize("logit_scale", [None, 60.0])
def test_gradients_match_finite_differences_of_reference(logit_scale):
    """The layer's gradients against central differences of the float64
    reference loop, for every weight and input, with padding."""
    layer = random_layer(3, 2, seed=23, return_sequences=True, dtype="float64")
    weights = layer.get_weights()
    if logit_scale is not None:  # logits of several hundred: exp(a) overflows
        weights[4] = np.abs(weights[4]) * logit_scale
        layer.set_weights(weights)
    rng = np.random.default_rng(24)
    x = rng.normal(size=(2, 6, 2))
    lengths = np.array([6, 4])
    mask = np.arange(6)[None, :] < lengths[:, None]
    coefficients = rng.normal(size=(2, 6, 3))

    reference = reference_rwa if logit_scale is None else reference_rwa_stable

    def reference_loss(x, *weights):
        return np.sum(coefficients * reference(x, weights, lengths)[0])

    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = tf.reduce_sum(coefficients * layer(inputs, mask=mask))
    got = tape.gradient(loss, [inputs, *[w.value for w in layer.weights]])

    expected = numeric_gradients(reference_loss, [x, *weights])
    if logit_scale is not None:
        assert np.abs(layer.trace(x)["a"].numpy()).max() > 100
    np.testing.assert_allclose(loss.numpy(), reference_loss(x, *weights), rtol=1e-12)
    for name, g, e in zip(["x"] + [w.name for w in layer.weights], got, expected):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("given_state", [False, True])
def test_gradients_of_every_output_match_keras_autodiff(
    go_backwards, zero_output_for_mask, given_state
):
    """The layer (input products hoisted out of the loop) against `RWACell`
    stepped by `keras.layers.RNN`, in float64: every output (the sequence and
    the final n, d, m, h) and its gradient for every input (weights, sequence,
    given initial states), with gaps in the mask and masked first steps."""
    options = {
        "return_sequences": True,
        "return_state": True,
        "go_backwards": go_backwards,
        "zero_output_for_mask": zero_output_for_mask,
        "dtype": "float64",
    }
    layer = random_layer(4, 2, seed=25, **options)
    generic = keras.layers.RNN(RWACell(4, dtype="float64"), **options)
    generic.build((None, None, 2))
    generic.set_weights(layer.get_weights())

    rng = np.random.default_rng(26)
    x = tf.constant(rng.normal(size=(2, 6, 2)))
    mask = np.array([[1, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 0]], dtype=bool)
    initial_state = []  # n, d, m, h
    if given_state:
        initial_state = [
            tf.constant(rng.normal(size=(2, 4))),
            tf.constant(rng.uniform(0.5, 2.0, size=(2, 4))),
            tf.constant(rng.normal(size=(2, 4))),
            tf.constant(np.tanh(rng.normal(size=(2, 4)))),
        ]
    coefficients = [rng.normal(size=(2, 6, 4))] + [
        rng.normal(size=(2, 4)) for _ in range(4)
    ]

    def loss_and_gradients(rnn):
        sources = [x, *initial_state, *[w.value for w in rnn.weights]]
        with tf.GradientTape() as tape:
            tape.watch([x, *initial_state])
            outputs = rnn(x, mask=mask, initial_state=initial_state or None)
            loss = sum(tf.reduce_sum(c * o) for c, o in zip(coefficients, outputs))
        return outputs, tape.gradient(loss, sources)

    got_outputs, got = loss_and_gradients(layer)
    expected_outputs, expected = loss_and_gradients(generic)
    for g, e in zip(got_outputs, expected_outputs):
        np.testing.assert_allclose(g.numpy(), e.numpy(), rtol=1e-12, atol=1e-14)
    names = ["x"] + ["n_0", "d_0", "m_0", "h_0"][: len(initial_state)]
    for name, g, e in zip(names + [w.name for w in layer.weights], got, expected):
        if name == "initial_state" and given_state:  # not used then
            assert g is None and e is None
            continue
        np.testing.assert_allclose(
            g.numpy(), e.numpy(), rtol=1e-9, atol=1e-12, err_msg=name
        )
