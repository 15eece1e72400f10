import numpy as np
import pandas as pd
import pytest

from rwa import analysis


def history(values):
    return pd.DataFrame({"step": [100, 200, 300, 400], "val_metric": values})


def test_steps_to_threshold():
    assert (
        analysis.steps_to_threshold(history([0.5, 0.02, 0.009, 0.001]), "adding") == 300
    )
    assert (
        analysis.steps_to_threshold(history([0.5, 0.01, 0.02, 0.5]), "adding") is None
    )
    assert analysis.steps_to_threshold(history([0.5, 0.99, 1.0, 0.9]), "length") == 200


def test_accuracy_by_length():
    lengths = np.array([0, 10, 49, 50, 501, 520])
    probabilities = np.array([0.1, 0.9, 0.2, 0.3, 0.8, 0.4])
    table = analysis.accuracy_by_length(lengths, probabilities)
    assert table["bucket"].tolist() == ["0-49", "50-99", "500-549"]
    assert table["count"].tolist() == [3, 1, 2]
    np.testing.assert_allclose(table["accuracy"], [2 / 3, 1.0, 0.5])


def test_crossing_point_interpolates_between_lengths():
    lengths = np.array([498, 498, 500, 502, 502])
    probabilities = np.array([0.1, 0.3, 0.4, 0.9, 0.7])  # means 0.2, 0.4, 0.8
    assert analysis.crossing_point(lengths, probabilities) == pytest.approx(500.5)
    assert analysis.crossing_point([1, 2, 3], [0.6, 0.7, 0.8]) is None
    assert analysis.crossing_point([1, 2, 3], [0.1, 0.2, 0.3]) is None


def test_state_change():
    h = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0]])
    np.testing.assert_allclose(analysis.state_change(h), [0.0, 5.0, 0.0])


def test_attention_weights_equal_softmax_over_time():
    rng = np.random.default_rng(0)
    a = rng.normal(scale=30, size=(50, 4))
    m = np.maximum.accumulate(a, axis=0)
    d = np.cumsum(np.exp(a - a.max(axis=0)), axis=0) * np.exp(a.max(axis=0) - m)
    softmax = np.exp(a - a.max(axis=0)) / np.exp(a - a.max(axis=0)).sum(axis=0)
    np.testing.assert_allclose(analysis.attention_weights(a, m, d), softmax, rtol=1e-9)


def test_units_moved_most_and_top_steps():
    h = np.zeros((3, 5))
    h[2] = [0.1, -0.9, 0.0, 0.5, 0.2]
    table = analysis.units_moved_most(h, 2, count=3)
    assert table["unit"].tolist() == [1, 3, 4]
    np.testing.assert_allclose(table["change"], [-0.9, 0.5, 0.2])
    assert analysis.top_steps([0.1, 0.7, 0.3, 0.9], 2) == [3, 1]


def test_length_sweep_with_a_known_model():
    def predict(x, lengths):
        assert x.shape[0] == len(lengths) == 8
        return 1 / (1 + np.exp(-(lengths - 503.0) / 2.0))

    done = []
    sweep, probabilities = analysis.length_sweep(
        predict, [496, 500, 504, 508], 8, progress=done.append
    )
    assert probabilities.shape == (4, 8)
    assert done == [0.25, 0.5, 0.75, 1.0]
    np.testing.assert_allclose(sweep["std"], 0.0, atol=1e-12)
    assert sweep["accuracy"].tolist() == [1.0, 1.0, 1.0, 1.0]
    crossing = analysis.crossing_point(sweep["length"], sweep["mean"])
    assert 500 < crossing < 504


def test_crossing_point_takes_the_crossing_nearest_the_boundary():
    lengths = [100, 110, 490, 500, 510]
    probabilities = [0.2, 0.6, 0.3, 0.45, 0.55]  # a noisy crossing near 105
    assert analysis.crossing_point(lengths, probabilities) == pytest.approx(505.0)
