"""Resource limits of one sandbox container (defaults fit a one-year 1-minute backtest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MIB = 1024 * 1024


class SandboxLimits(BaseModel):
    """What one job may use. Memory has no swap on top; output counts stdout and stderr."""

    model_config = ConfigDict(frozen=True)

    memory_mib: int = Field(1024, ge=64, description="Memory limit (MiB), swap disabled.")
    cpus: float = Field(1.0, gt=0, le=64, description="CPU quota in cores.")
    pids: int = Field(128, ge=16, description="Max processes + threads in the container.")
    timeout_s: float = Field(120.0, gt=0, description="Wall-clock limit, start to exit.")
    tmpfs_mib: int = Field(64, ge=8, description="Size of the writable /tmp (tmpfs).")
    output_mib: int = Field(16, ge=1, description="Max bytes on stdout + stderr (MiB).")

    @property
    def memory_bytes(self) -> int:
        """memory_mib in bytes."""
        return self.memory_mib * MIB

    @property
    def output_bytes(self) -> int:
        """output_mib in bytes."""
        return self.output_mib * MIB

    @property
    def workers(self) -> int:
        """Threads a grid shard may use: the CPU quota rounded up."""
        return max(1, int(-(-self.cpus // 1)))
