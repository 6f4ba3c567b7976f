"""Sandbox containers: their settings, and one created-but-never-started spare.

Creating a container costs the engine a root filesystem layer, a network endpoint and the
cgroup setup. The spare moves that work out of the job's path: the next job with the default
limits starts the spare instead of creating one,
and a new spare is created in the background for the job after it. A spare is used by one
job only (it is removed after that job like every container) and holds nothing of any job
until it starts: the job arrives on its stdin.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.types import LogConfig, Ulimit

from kwont_backtest_runner.limits import SandboxLimits

SANDBOX_USER = "10001:10001"
LABEL, JOB_LABEL = "kwont.sandbox", "kwont.sandbox.job"
SPARE_JOB = "spare"
log = logging.getLogger(__name__)


def container_name(job_id: str) -> str:
    """The name of a job's container: its job id (cut to 40) and a random suffix."""
    return f"{name_prefix(job_id)}{uuid.uuid4().hex[:6]}"


def name_prefix(job_id: str) -> str:
    """What every container name of ``job_id`` starts with (what ``cancel`` looks for)."""
    return f"kwont-sbx-{job_id[:40]}-"


def containers_of(client: docker.DockerClient, job_id: str) -> list[Any]:
    """Every container of ``job_id`` on the engine: made for it (its label) or a spare it
    took (its name only: a spare is labelled before any job is known)."""
    found = {c.id: c for c in client.containers.list(filters={"label": f"{JOB_LABEL}={job_id}"})}
    for c in client.containers.list(filters={"name": name_prefix(job_id)}):
        if c.name.startswith(name_prefix(job_id)):
            found[c.id] = c
    return list(found.values())


def create(
    client: docker.DockerClient,
    image: str,
    network: str,
    lim: SandboxLimits,
    job_id: str,
) -> Any:
    """A created (not started) sandbox container with every limit of ``lim``."""
    return client.containers.create(
        image,
        name=container_name(job_id),
        stdin_open=True,
        network=network,
        user=SANDBOX_USER,
        read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={lim.tmpfs_mib}m,mode=1777"},
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        mem_limit=lim.memory_bytes,
        memswap_limit=lim.memory_bytes,  # equal to the memory limit: no swap
        nano_cpus=int(lim.cpus * 1e9),
        pids_limit=lim.pids,
        ulimits=[Ulimit(name="core", soft=0, hard=0)],
        sysctls={"net.ipv6.conf.all.disable_ipv6": "1"},
        labels={LABEL: "1", JOB_LABEL: job_id},
        log_config=LogConfig(type="none"),  # output is capped here, never logged to disk
        hostname="sandbox",
    )


class SparePool:
    """At most one spare container, for the next job with ``limits``."""

    def __init__(
        self, client: docker.DockerClient, image: str, network: str, limits: SandboxLimits,
        enabled: bool = True,
    ) -> None:  # fmt: skip
        self.client, self.image, self.network, self.limits = client, image, network, limits
        self.enabled = enabled
        self._spare: Any = None
        self._lock = threading.Lock()
        self._filling = False
        self._closed = False

    def take(self, job_id: str, lim: SandboxLimits) -> Any:
        """The spare, renamed for ``job_id``, or None (none ready, or other limits)."""
        if not self.enabled or lim != self.limits:
            return None
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is None:
            return None
        try:
            spare.rename(container_name(job_id))  # so cancel(job_id) finds it by name
        except DockerException:  # gone (pruned, engine restarted): create one instead
            with contextlib.suppress(DockerException):
                spare.remove(force=True)
            return None
        return spare

    def refill(self) -> None:
        """Create a new spare on a background thread if none is ready or being made."""
        with self._lock:
            if not self.enabled or self._closed or self._spare is not None or self._filling:
                return
            self._filling = True
        threading.Thread(target=self._fill, name="sandbox-spare", daemon=True).start()

    def _fill(self) -> None:
        try:
            spare = create(self.client, self.image, self.network, self.limits, SPARE_JOB)
        except DockerException as exc:  # the next job creates its own, and retries this
            log.warning("could not create a spare sandbox container: %s", exc)
            spare = None
        with self._lock:
            self._filling = False
            if spare is not None and (self._closed or self._spare is not None):
                extra, spare = spare, None
            else:
                extra, self._spare = None, spare
        if extra is not None:
            with contextlib.suppress(NotFound, APIError):
                extra.remove(force=True)

    @property
    def spare_id(self) -> str | None:
        """The id of the ready spare, if any."""
        with self._lock:
            return None if self._spare is None else str(self._spare.id)

    def close(self) -> None:
        """Remove the spare; no new one is made."""
        with self._lock:
            self._closed = True
            spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(NotFound, APIError):
                spare.remove(force=True)
