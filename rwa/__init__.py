"""RWA Lab: the Recurrent Weighted Average network, its tasks and tools."""

from rwa.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from rwa.layer import RWA, RWACell

__all__ = ["RWA", "RWACell", "Checkpoint", "CheckpointError", "load_checkpoint"]
