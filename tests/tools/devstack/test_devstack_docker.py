"""The docker_engine fixture hands out a Docker engine that answers."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest

from kwont_devstack.dockerd import _UnixHTTPConnection, docker_ping

pytestmark = pytest.mark.integration


def test_docker_engine_answers(docker_engine: str) -> None:
    assert docker_ping(docker_engine)
    url = urlparse(docker_engine)
    assert url.scheme == "unix"
    conn = _UnixHTTPConnection(url.path, timeout=10)
    try:
        conn.request("GET", "/version")
        version = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    assert version["ApiVersion"]
