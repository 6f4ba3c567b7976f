"""Stack settings: each collision names its setting; the sandbox settings are checked and
passed to the backtest-runner; the group readiness check reads a real broker."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kwont_common.trading.credentials import Keyring
from kwont_devstack.config import ConfigError, StackConfig
from kwont_devstack.kafka_groups import group_joined, group_state
from kwont_devstack.mongo_users import MongoCredentials, MongoEndpoint
from kwont_devstack.programs import service_env
from kwont_devstack.sandbox_net import listening
from kwont_execution.settings import ExecutionSettings


@pytest.mark.unit
def test_a_port_given_twice_names_both_settings() -> None:
    env = {"KWONT_GATEWAY_HTTP_PORT": "9092", "KWONT_SANDBOX_RELAY_PORT": "6379"}
    with pytest.raises(ConfigError) as err:
        StackConfig.from_env(env)
    assert "9092 (KWONT_KAFKA_PORT and KWONT_GATEWAY_HTTP_PORT)" in str(err.value)
    assert "6379 (KWONT_REDIS_PORT and KWONT_SANDBOX_RELAY_PORT)" in str(err.value)


@pytest.mark.unit
@pytest.mark.parametrize("bridge", ["kwont-sandbox-bridge-2", "a/b", "two words"])
def test_a_bridge_that_is_no_interface_name_is_refused(bridge: str) -> None:
    with pytest.raises(ConfigError, match="KWONT_SANDBOX_BRIDGE.*at most 15"):
        StackConfig.from_env({"KWONT_SANDBOX_BRIDGE": bridge})


@pytest.mark.unit
def test_the_runner_gets_the_stack_sandbox_settings() -> None:
    config = StackConfig.from_env(
        {"KWONT_SANDBOX_NETWORK": "kwont-sandbox-2", "KWONT_SANDBOX_BRIDGE": "kwont-sbx2",
         "KWONT_SANDBOX_RELAY_PORT": "37117"}
    )  # fmt: skip
    mongo = MongoEndpoint("127.0.0.1", 27017, MongoCredentials("a", "b", "c"))
    runner = next(s for s in config.services if s.name == "backtest-runner")
    env = service_env(config, mongo, runner)
    assert env["KWONT_SANDBOX_NETWORK"] == "kwont-sandbox-2"
    assert env["KWONT_SANDBOX_BRIDGE"] == "kwont-sbx2"
    assert env["KWONT_SANDBOX_RELAY_PORT"] == "37117"
    relay = [item for item in config.listeners() if item.setting == "KWONT_SANDBOX_RELAY_PORT"]
    assert [item.port for item in relay] == [37117]


@pytest.mark.unit
def test_execution_reads_no_ticks_on_the_synthetic_feed() -> None:
    config = StackConfig.from_env({})
    mongo = MongoEndpoint("127.0.0.1", 27017, MongoCredentials("a", "b", "c"))
    spec = {s.name: s for s in config.services}
    assert service_env(config, mongo, spec["marketdata"])["KWONT_FEED"] == "synthetic"
    assert service_env(config, mongo, spec["execution"])["KWONT_PAPER_TICKS"] == "false"
    env = service_env(config, mongo, spec["execution"])
    settings = ExecutionSettings.model_validate({"paper_ticks": env["KWONT_PAPER_TICKS"]})
    assert settings.paper_ticks is False


@pytest.mark.unit
def test_listening_sees_a_socket_on_any_address() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert listening().get(port) == {"127.0.0.1"}
    assert port not in listening()


@pytest.mark.integration
async def test_group_is_joined_only_once_its_member_has_partitions(
    kafka_bootstrap: str, unique_name: str
) -> None:
    host, port = kafka_bootstrap.split(":")
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(unique_name, 3, 1)])
    finally:
        await admin.close()
    assert group_state(host, int(port), unique_name) == ("Empty", 0)
    assert not group_joined(host, int(port), unique_name)
    consumer = AIOKafkaConsumer(
        unique_name, bootstrap_servers=kafka_bootstrap, group_id=unique_name,
        enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=2000,
    )  # fmt: skip
    await consumer.start()
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline
            await consumer.getmany(timeout_ms=100)
        assert len(consumer.assignment()) == 3
        # The member has its partitions once the broker answered its SyncGroup, which is
        # when the broker calls the group Stable; allow the answer a moment to be read.
        while not group_joined(host, int(port), unique_name):
            assert time.monotonic() < deadline, group_state(host, int(port), unique_name)
            await asyncio.sleep(0.05)
        assert group_state(host, int(port), unique_name) == ("Stable", 1)
    finally:
        await consumer.stop()


@pytest.mark.unit
def test_the_stack_generates_one_credentials_key_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KWONT_CREDENTIALS_KEYS", raising=False)
    monkeypatch.delenv("KWONT_CREDENTIALS_KEYS_FILE", raising=False)
    config = StackConfig.from_env({"KWONT_RUN_DIR": str(tmp_path)})
    mongo = MongoEndpoint("127.0.0.1", 27017, MongoCredentials("a", "b", "c"))
    spec = {s.name: s for s in config.services}
    first = service_env(config, mongo, spec["gateway"])["KWONT_CREDENTIALS_KEYS_FILE"]
    path = Path(first)
    assert path.parent == tmp_path and path.stat().st_mode & 0o777 == 0o600
    before = path.read_text()
    assert service_env(config, mongo, spec["execution"])["KWONT_CREDENTIALS_KEYS_FILE"] == first
    assert path.read_text() == before  # kept: pairs stored under it must still open
    ring = Keyring.of(None, path)
    assert ring is not None and ring.decrypt(ring.encrypt("s3cret")) == "s3cret"
    # an operator's own key wins: the stack then sets none of its own
    monkeypatch.setenv("KWONT_CREDENTIALS_KEYS", before.splitlines()[-1])
    assert "KWONT_CREDENTIALS_KEYS_FILE" not in service_env(config, mongo, spec["gateway"])
