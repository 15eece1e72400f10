import numpy as np
import pytest

from rwa import tasks


def test_length_batch_is_padded_labelled_and_deterministic():
    batch = tasks.batch_for_step("length", seed=3, step=7, batch_size=200)
    again = tasks.batch_for_step("length", seed=3, step=7, batch_size=200)
    other = tasks.batch_for_step("length", seed=3, step=8, batch_size=200)

    assert batch.values.shape == (200, tasks.LENGTH_MAX, 1)
    assert batch.values.dtype == np.float32
    np.testing.assert_array_equal(batch.values, again.values)
    assert not np.array_equal(batch.lengths, other.lengths)
    assert batch.lengths.min() >= 0 and batch.lengths.max() <= tasks.LENGTH_MAX
    np.testing.assert_array_equal(batch.targets, batch.lengths > 500)
    for row, length in zip(batch.values, batch.lengths):
        assert np.all(row[length:] == 0)
        assert np.all(row[:length] != 0)


def test_length_batch_covers_both_ends_inclusive():
    rng = np.random.default_rng(0)
    lengths = tasks.length_batch(rng, 100_000).lengths
    assert lengths.min() == 0 and lengths.max() == 1000
    assert abs((lengths > 500).mean() - 0.5) < 0.01


def test_adding_batch_has_two_distinct_markers_and_right_sum():
    batch = tasks.batch_for_step("adding", seed=1, step=0, batch_size=500, length=50)
    values, markers = batch.values[..., 0], batch.values[..., 1]
    assert batch.values.shape == (500, 50, 2)
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert values.min() >= 0 and values.max() < 1
    np.testing.assert_allclose(batch.targets, (values * markers).sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(batch.lengths, 50)


def test_adding_markers_are_uniform_over_positions():
    batch = tasks.adding_batch(np.random.default_rng(2), 20_000, 10)
    counts = batch.values[..., 1].sum(axis=0)
    np.testing.assert_allclose(counts / counts.sum(), 0.1, atol=0.01)


def test_held_out_sets_differ_from_training_batches():
    train = tasks.batch_for_step("adding", 0, 0, 100, 20)
    validation = tasks.held_out_set("adding", 0, 100, 20)
    test = tasks.held_out_set("adding", 0, 100, 20, stream=tasks.TEST_STREAM)
    assert not np.array_equal(train.values, validation.values)
    assert not np.array_equal(validation.values, test.values)


def test_length_example():
    example = tasks.length_example(501, seed=4)
    assert example.values.shape == (501, 1) and example.target == 1.0
    assert tasks.length_example(500).target == 0.0
    assert tasks.length_example(0).values.shape == (0, 1)
    typed = tasks.length_example(None, values=[0.5, -1.0, 2.0])
    assert typed.length == 3 and typed.values[1, 0] == -1.0


def test_adding_example():
    example = tasks.adding_example(10, (2, 7), seed=5)
    assert example.values.shape == (10, 2)
    np.testing.assert_array_equal(np.flatnonzero(example.values[:, 1]), [2, 7])
    assert example.target == pytest.approx(example.values[[2, 7], 0].sum())
    typed = tasks.adding_example(3, [0, 2], values=[0.25, 0.5, 1.0])
    assert typed.target == 1.25 and typed.markers == (0, 2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: tasks.length_example(-1), "length.*between 0 and 1000"),
        (lambda: tasks.length_example(1001), "length.*between 0 and 1000"),
        (lambda: tasks.length_example(2.5), "length.*integer"),
        (lambda: tasks.length_example("7"), "length.*integer"),
        (lambda: tasks.length_example(3, values=[1, 2]), r"values.*shape \(3,\)"),
        (lambda: tasks.length_example(None, values=[1, np.nan]), "values.*finite"),
        (lambda: tasks.length_example(None, values=["a"]), "values.*numbers"),
        (lambda: tasks.length_example(5, seed=-1), "seed"),
        (lambda: tasks.adding_example(1, (0, 1)), "length.*between 2"),
        (lambda: tasks.adding_example(100_001, (0, 1)), "length.*between 2"),
        (lambda: tasks.adding_example(10, (3, 3)), "markers.*different"),
        (lambda: tasks.adding_example(10, (3, 10)), r"markers\[1\].*between 0 and 9"),
        (lambda: tasks.adding_example(10, (-1, 2)), r"markers\[0\]"),
        (lambda: tasks.adding_example(10, (1, 2, 3)), "markers.*two"),
        (lambda: tasks.adding_example(10, 5), "markers.*two"),
        (lambda: tasks.adding_example(3, (0, 1), values=[0.1, 0.2]), "values.*shape"),
        (lambda: tasks.adding_example(3, (0, 1), values=[0.1, 2, 0]), r"values.*\[0.0"),
        (lambda: tasks.adding_example(2, (0, 1), values=[np.inf, 0]), "finite"),
        (lambda: tasks.make_batch("sorting", None, 1), "task"),
    ],
)
def test_bad_choices_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"value\n0.5\n-1\n", [0.5, -1.0]),
        (b"0.5\n2e-3\n", [0.5, 0.002]),
        (b" 1 \n 2 \n", [1.0, 2.0]),
    ],
)
def test_read_values_csv(data, expected):
    np.testing.assert_allclose(tasks.read_values_csv(data), expected)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"0.5x\n1\n2\n", "Row 1 .*'0.5x'"),
        (b"nan\n1\n", "Row 1 .*'nan'"),
        (b"value\n1\nNaN\n", "Row 2 .*'NaN'"),
        (b"1;2\n3\n", "Row 1"),
        (b"1,2\n3,4\n", "one column"),
        (b"", "no numbers"),
        (b"value\n", "no numbers"),
        (b"\xff\xfe\x00\x01", "not a readable CSV|not a number"),
        (b"1\n" * 10, "at most 5 are accepted"),
    ],
)
def test_read_values_csv_rejects(data, message):
    with pytest.raises(ValueError, match=message):
        tasks.read_values_csv(data, max_bytes=5 if len(data) == 20 else 1000)
