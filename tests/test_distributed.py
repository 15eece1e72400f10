"""Training under tf.distribute: two logical CPU devices in one process, and
two workers on loopback ports."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import rwa
from rwa import tasks

ROOT = Path(__file__).parent.parent
RUN = [
    "--task", "adding", "--length", "12", "--steps", "40", "--eval-every", "10",
    "--batch-size", "20", "--val-size", "40", "--verbose", "2",
]  # fmt: skip


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    """The same run on one device without XLA: the weights to match."""
    out = tmp_path_factory.mktemp("one_device") / "run"
    subprocess.run(train_command(out, "--no-jit"), cwd=ROOT, check=True)
    return rwa.load_checkpoint(out.with_suffix(".keras")).model.get_weights()


def train_command(out, *extra):
    logdir = out.parent / "tensorboard"
    return [
        sys.executable, "-m", "rwa.train", *RUN,
        "--out", str(out), "--logdir", str(logdir), *extra,
    ]  # fmt: skip


def check_run(out, replicas, one_device):
    history = pd.read_csv(out.with_suffix(".csv"))
    assert history["step"].tolist() == [10, 20, 30, 40]
    assert history["val_loss"].iloc[-1] < 0.5 * history["val_loss"].iloc[0]
    metadata = json.loads(out.with_suffix(".json").read_text())
    assert metadata["replicas"] == replicas
    ckpt = rwa.load_checkpoint(out.with_suffix(".keras"))
    example = tasks.adding_example(12, (1, 5))
    assert np.isfinite(ckpt.predict(example.values[None])).all()
    # Each step saw the same 20 sequences as on one device, split in two.
    for got, expected in zip(ckpt.model.get_weights(), one_device):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    return metadata


def test_mirrored_over_two_logical_cpus(tmp_path, one_device):
    out = tmp_path / "mirrored"
    command = train_command(out, "--strategy", "mirrored", "--logical-cpus", "2")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mirrored strategy: 2 replica(s)" in result.stdout
    assert check_run(out, 2, one_device)["strategy"] == "mirrored"


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def test_two_workers_on_loopback(tmp_path, one_device):
    out = tmp_path / "multiworker"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = []
    for index in range(2):
        config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        processes.append(
            subprocess.Popen(
                train_command(out, "--strategy", "multiworker"),
                cwd=ROOT,
                env={**os.environ, "TF_CONFIG": json.dumps(config)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = [process.communicate(timeout=300) for process in processes]
    for process, (stdout, stderr) in zip(processes, results):
        assert process.returncode == 0, stderr[-3000:]
        assert "multiworker strategy: 2 replica(s)" in stdout
    assert check_run(out, 2, one_device)["strategy"] == "multiworker"
    # Only the chief wrote the checkpoint.
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "multiworker.csv",
        "multiworker.json",
        "multiworker.keras",
        "tensorboard",
    ]
