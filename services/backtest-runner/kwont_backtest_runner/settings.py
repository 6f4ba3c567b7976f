"""Settings of the backtest-runner service (``KWONT_*`` environment variables)."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from kwont_backtest_runner.limits import SandboxLimits
from kwont_common.settings import Settings


class BacktestRunnerSettings(Settings):
    """Shared settings with this service's defaults, the sandbox's limits and network."""

    metrics_port: int = Field(9107, ge=0, le=65535, description="Port of /metrics and /healthz.")
    runner_id: str = Field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
        description="Name of this replica in job status and events.",
    )
    docker_url: str | None = Field(None, description="Docker engine URL (default: DOCKER_HOST).")
    sandbox_image: str = Field("kwont/sandbox:latest", description="Sandbox image.")
    sandbox_network: str = Field("kwont-sandbox", description="Internal Docker network.")
    sandbox_bridge: str = Field("kwont-sbx0", description="Bridge interface of that network.")
    sandbox_relay_port: int = Field(
        27117, ge=0, le=65535,
        description="Port of the Mongo relay on the network's gateway (shared by replicas).",
    )  # fmt: skip
    sandbox_firewall: bool = Field(True, description="iptables: the network reaches only Mongo.")
    sandbox_network_cleanup: bool = Field(
        False,
        description="Remove the network and its firewall rules on stop (tests, one-off runs); "
        "replicas sharing one network keep it.",
    )
    sandbox_memory_mib: int = Field(1024, ge=64, description="Memory per job (MiB), no swap.")
    sandbox_cpus: float = Field(1.0, gt=0, description="CPU cores per job.")
    sandbox_pids: int = Field(128, ge=16, description="Processes + threads per job.")
    sandbox_timeout_s: float = Field(120.0, gt=0, description="Wall-clock limit per job.")
    sandbox_tmpfs_mib: int = Field(64, ge=8, description="Writable /tmp per job (MiB).")
    sandbox_output_mib: int = Field(16, ge=1, description="stdout + stderr cap per job (MiB).")
    job_slots: int = Field(1, ge=1, description="Jobs this replica runs at once (sandboxes).")
    job_buffer: int = Field(
        1000, ge=1,
        description="Jobs in hand per replica, queued fairly between users for a slot; past "
        "it the topic is read in order (docs/sandbox.md, fair scheduling).",
    )  # fmt: skip
    job_max_running_per_user: int | None = Field(
        None, ge=1, description="Jobs of one user running at once on a replica (None: slots)."
    )
    queue_metrics_max_users: int = Field(
        50, ge=0, description="Distinct users labelled in the queue metrics; the rest 'other'."
    )
    result_cache_ttl_s: int = Field(86_400, ge=1, description="How long cached results live.")

    @property
    def limits(self) -> SandboxLimits:
        """The sandbox_* settings as the limits each sandbox container runs under."""
        return SandboxLimits(
            memory_mib=self.sandbox_memory_mib, cpus=self.sandbox_cpus, pids=self.sandbox_pids,
            timeout_s=self.sandbox_timeout_s, tmpfs_mib=self.sandbox_tmpfs_mib,
            output_mib=self.sandbox_output_mib,
        )  # fmt: skip
