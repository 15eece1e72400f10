"""RWA Lab: the Recurrent Weighted Average network, its tasks and tools."""

from rwa.layer import RWA, RWACell

__all__ = ["RWA", "RWACell"]
