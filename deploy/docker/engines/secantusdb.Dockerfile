# The embedded MongoDB-wire server (PyPI SecantusDB, WiredTiger) as an image, for the offline
# compose override. Auth is always on; the entrypoint (secantus_entry.py) provisions
# Kwont's three users from KWONT_MONGO_{ADMIN,APP,READONLY}_PASSWORD the way the embedded
# stack does (users written with auth off on a loopback-only port, then restart with --auth).
# Context: wheels/ (secantusdb, pymongo, ... and kwont-devstack for its signal-safe server
# wrapper and user provisioning), secantus_entry.py.
ARG BASE_IMAGE=kwont/debian-base:bookworm
FROM ${BASE_IMAGE} AS build
COPY wheels /wheels
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-index --no-cache-dir --disable-pip-version-check -q \
      --find-links /wheels -r /wheels/requirements.txt \
 && /opt/venv/bin/pip install --no-index --no-cache-dir --disable-pip-version-check -q \
      --no-deps /wheels/kwont_devstack-*.whl \
 && /opt/venv/bin/pip uninstall -y -q --disable-pip-version-check pip setuptools

FROM ${BASE_IMAGE}
COPY --from=build /opt/venv /opt/venv
COPY secantus_entry.py /opt/kwont/secantus_entry.py
RUN mkdir -p /data/db && chown -R 10001:10001 /data
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HOME=/tmp LANG=C.UTF-8
USER 10001:10001
VOLUME /data/db
EXPOSE 27017
HEALTHCHECK --interval=5s --timeout=5s --start-period=20s --retries=5 \
  CMD ["/opt/venv/bin/python", "-I", "/opt/kwont/secantus_entry.py", "--ping"]
ENTRYPOINT ["/opt/venv/bin/python", "-I", "/opt/kwont/secantus_entry.py"]
