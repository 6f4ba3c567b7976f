"""Engines for integration tests come from the devstack pytest plugin: each fixture starts
its own tansu / SecantusDB / Redis / dockerd on free ports, never the `make up` stack."""

pytest_plugins = ["kwont_devstack.pytest_plugin"]
