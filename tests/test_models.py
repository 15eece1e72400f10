import keras
import numpy as np
import pytest
from conftest import train_tiny

import rwa
from rwa import models, tasks


@pytest.mark.parametrize("kind", models.MODEL_KINDS)
@pytest.mark.parametrize("task", ["length", "adding"])
def test_every_kind_takes_padded_batches(kind, task):
    model = models.build_model(kind, task, units=8, seed=0)
    batch = tasks.batch_for_step(task, 0, 0, 3, 15)
    lengths = np.array([batch.values.shape[1], 4, 0], dtype=np.int32)
    padded = model.predict({"values": batch.values, "lengths": lengths}, verbose=0)
    assert padded.shape == (3, 1)
    alone = model.predict(
        {"values": batch.values[1:2, :4], "lengths": lengths[1:2]}, verbose=0
    )
    np.testing.assert_allclose(padded[1], alone[0], rtol=1e-5, atol=1e-6)


def test_unknown_kind():
    with pytest.raises(ValueError, match="model.*stacked-rwa"):
        models.build_model("gru", "adding")


@pytest.mark.parametrize("kind", models.MODEL_KINDS)
def test_xla_compiles_only_the_kinds_it_speeds_up(kind):
    model = models.build_model(kind, "adding", units=4, seed=0)
    assert models.compile_model(model, "adding").jit_compile == (
        kind in ("rwa", "lstm")
    )
    assert not models.compile_model(model, "adding", jit_compile=False).jit_compile


def test_compile_model_leaves_other_models_to_keras():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    expected = keras.models.clone_model(model)
    expected.compile(optimizer="adam", loss="mse", jit_compile="auto")
    assert models.compile_model(model, "adding").jit_compile == expected.jit_compile


def test_uses_xla_names_an_unknown_kind():
    with pytest.raises(ValueError, match="model.*Received: 'gru'"):
        models.uses_xla("gru")


def test_attention_pooling_ignores_masked_steps():
    layer = models.AttentionPooling(4)
    layer.build((None, None, 3))
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    mask = np.array([[True] * 6, [True, True, True, False, False, False]])
    alpha = layer.weights_over_time(x, mask).numpy()
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-6)
    assert (alpha[1, 3:] == 0).all()
    np.testing.assert_allclose(
        layer(x, mask=mask)[1], layer(x[1:, :3])[0], rtol=1e-5, atol=1e-6
    )
    assert models.AttentionPooling.from_config(layer.get_config()).units == 4


@pytest.mark.parametrize("kind", ["stacked-rwa", "lstm-attention"])
def test_new_kinds_train_save_load_and_trace(kind, tmp_path):
    out = tmp_path / kind
    train_tiny(out, model=kind, steps=10, eval_every=10)
    resumed = train_tiny(out, "--resume", model=kind, steps=20, eval_every=10)
    assert not resumed.jit_compile  # several times slower with XLA
    ckpt = rwa.load_checkpoint(out.with_suffix(".keras"))
    assert ckpt.model_kind == kind
    example = tasks.adding_example(12, (1, 7))
    prediction = ckpt.predict(example.values[None])
    assert prediction.shape == (1,) and np.isfinite(prediction).all()

    if kind == "stacked-rwa":
        assert ckpt.num_recurrent_layers == 2
        first, second = (
            ckpt.trace(example.values[None], layer=0),
            ckpt.trace(example.values[None], layer=1),
        )
        assert set(second) == {"h", "a", "n", "d", "m"}
        assert not np.allclose(first["h"], second["h"])
        head = ckpt.model.get_layer("head")
        np.testing.assert_allclose(
            head(second["h"][:, -1]).numpy()[:, 0], prediction, rtol=1e-5, atol=1e-6
        )
        with pytest.raises(ValueError, match="layer"):
            ckpt.trace(example.values[None], layer=2)
    else:
        trace = ckpt.trace(example.values[None])
        assert trace["h"].shape == (1, 12, 250)
        assert trace["attention"].shape == (1, 12)
        np.testing.assert_allclose(trace["attention"].sum(), 1.0, rtol=1e-5)
