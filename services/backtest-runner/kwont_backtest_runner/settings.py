"""Settings of the backtest-runner service (``KWONT_*`` environment variables)."""

from __future__ import annotations

import os
import socket

from pydantic import Field

from kwont_backtest_runner.attempts import RetryPolicy
from kwont_backtest_runner.limits import SandboxLimits
from kwont_backtest_runner.reaper import ReaperPolicy
from kwont_backtest_runner.relay_limits import MIB, RelayLimits
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
    sandbox_relay_max_connections: int = Field(
        8, ge=0, description="Connections one sandbox may hold to the Mongo relay (0: no cap).",
    )  # fmt: skip
    sandbox_relay_read_mib_s: float = Field(
        8.0, ge=0, description="MiB/s one sandbox may read from MongoDB via the relay (0: any).",
    )  # fmt: skip
    sandbox_relay_burst_mib: float = Field(
        16.0, gt=0, description="MiB a sandbox may read at once before the rate applies.",
    )  # fmt: skip
    sandbox_query_timeout_ms: int = Field(
        30_000, ge=0,
        description="timeoutMS in the sandbox's MongoDB URI: each operation's time limit, sent "
        "to the server as maxTimeMS (0: none).",
    )  # fmt: skip
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
    sandbox_attempts: int = Field(
        3, ge=1, description="Runs of a job whose sandbox failed for the engine's sake (dockerd "
        "restarted, container killed from outside) before it fails with the reasons.",
    )  # fmt: skip
    sandbox_retry_wait_s: float = Field(
        30.0, ge=0, description="How long a retry waits for the Docker engine to answer again."
    )
    reaper_interval_s: float = Field(5.0, gt=0, description="How often the reaper looks.")
    reaper_heartbeat_s: float = Field(
        20.0, gt=0, description="A running job with no heartbeat for this long is requeued."
    )
    reaper_queued_s: float = Field(
        300.0, gt=0, description="A job queued this long with no runner is sent again."
    )
    reaper_max_requeues: int = Field(
        2, ge=0, description="Requeues of a job before the reaper fails it with the reason."
    )
    result_cache_ttl_s: int = Field(86_400, ge=1, description="How long cached results live.")

    @property
    def retry(self) -> RetryPolicy:
        """The sandbox_attempts / sandbox_retry_wait_s settings."""
        return RetryPolicy(self.sandbox_attempts, self.sandbox_retry_wait_s)

    @property
    def reaper(self) -> ReaperPolicy:
        """The reaper_* settings; a job runs at most every attempt's timeout and waits."""
        per_run = self.sandbox_timeout_s + self.sandbox_retry_wait_s
        return ReaperPolicy(
            interval_s=self.reaper_interval_s, heartbeat_s=self.reaper_heartbeat_s,
            run_deadline_s=per_run * self.sandbox_attempts + 60, queued_s=self.reaper_queued_s,
            max_requeues=self.reaper_max_requeues,
        )  # fmt: skip

    @property
    def relay_limits(self) -> RelayLimits:
        """The sandbox_relay_* settings, per sandbox (source address) at the Mongo relay."""
        return RelayLimits(
            max_connections=self.sandbox_relay_max_connections,
            read_bytes_s=self.sandbox_relay_read_mib_s * MIB,
            burst_bytes=self.sandbox_relay_burst_mib * MIB,
        )

    @property
    def limits(self) -> SandboxLimits:
        """The sandbox_* settings as the limits each sandbox container runs under."""
        return SandboxLimits(
            memory_mib=self.sandbox_memory_mib, cpus=self.sandbox_cpus, pids=self.sandbox_pids,
            timeout_s=self.sandbox_timeout_s, tmpfs_mib=self.sandbox_tmpfs_mib,
            output_mib=self.sandbox_output_mib,
        )  # fmt: skip
