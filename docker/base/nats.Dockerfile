# NATS from Debian's nats-server package, for machines that cannot reach an image registry.
# Like the public nats image, the entrypoint is the server, so `command` holds only flags;
# wget is there for health checks. The package creates the `nats` user. Built by scripts/build-base-images.sh.
ARG DEBIAN_IMAGE=local/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server wget \
  && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* \
  && mkdir /data && chown nats:nats /data
USER nats
VOLUME /data
EXPOSE 4222 6222 8222
ENTRYPOINT ["nats-server"]
CMD ["--jetstream", "--store_dir", "/data", "--http_port", "8222"]
