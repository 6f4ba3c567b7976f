"""In-memory trading state per owned partition, snapshotted behind the hot path
(:class:`PartitionStore`; docs/latency-plan.md step 2)."""

from kwont_common.state.offsets import InputOffsets
from kwont_common.state.store import NotOwned, PartitionStore

__all__ = ["InputOffsets", "NotOwned", "PartitionStore"]
