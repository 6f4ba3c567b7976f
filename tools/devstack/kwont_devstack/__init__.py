"""kwont-devstack: Kwont's embedded real stack (tansu, SecantusDB, Redis, Docker) for
development and tests. See docs/embedded-stack.md."""
