import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from rwa import train  # noqa: E402

TINY_RUN = ["--batch-size", "20", "--val-size", "40", "--verbose", "0"]


def train_tiny(out, *extra, task="adding", model="rwa", steps=20, eval_every=10):
    """Runs the training CLI in this process on a small problem."""
    argv = [
        "--task", task, "--model", model, "--steps", str(steps),
        "--eval-every", str(eval_every), "--out", str(out),
        "--logdir", str(out.parent / "tensorboard"), *TINY_RUN, *extra,
    ]  # fmt: skip
    if task == "adding" and "--length" not in extra:
        argv += ["--length", "12"]
    return train.main(argv)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory):
    """One short-trained checkpoint per (model, task), made by the CLI."""
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for model in ("rwa", "lstm"):
        for task in ("adding", "length"):
            out = folder / f"{model}_{task}"
            steps = 4 if task == "length" else 20
            train_tiny(out, task=task, model=model, steps=steps, eval_every=2)
            paths[model, task] = out.with_suffix(".keras")
    return paths
