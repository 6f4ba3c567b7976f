# Redis from Debian's redis-server, for the offline compose override (no registry here).
# No persistence: Kwont keeps only caches and rate-limit windows in Redis.
ARG BASE_IMAGE=kwont/debian-base:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/*
USER 10001:10001
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["redis-cli", "-p", "6379", "ping"]
ENTRYPOINT ["redis-server", "--bind", "0.0.0.0", "--port", "6379", "--protected-mode", "no", \
            "--save", "", "--appendonly", "no", "--dir", "/tmp"]
