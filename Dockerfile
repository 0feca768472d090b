# Images of the five services: one target each (api-gateway, network-guru, ovs-element,
# vr-manager, hypervisor-agent), sharing every layer but the last.
#
#   docker build --network host --target network-guru -t sdn/network-guru .
#
# BASE_IMAGE is any Node image (20.19+, 22 or 24; the default is the current LTS, 24) with a
# `node` user (uid 1000); machines without a registry build one with scripts/build-base-images.sh. Only `npm ci` needs the network (the npm
# registry); `--network host` lets it out on engines that give containers no internet.
# Written for the classic builder as well as BuildKit, so Debian's docker.io builds it.
ARG BASE_IMAGE=node:24-bookworm-slim

# The package manifests alone, so that the `npm ci` layers stay cached until one changes.
FROM ${BASE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
  && find . -name package.json -not -path "*/node_modules/*" -exec cp --parents {} /manifests \; \
  && cp package-lock.json /manifests/

# Builds every workspace as `npm run build` does (scripts/build.ts: tsc, then TypeBox bundled),
# then keeps what runs: manifests, dist/, the programs a service ships to hosts and routers
# (host/, router/) and the gateway's web view (ui/), no sources or tests.
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY --from=manifests /manifests/ ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.build.json ./
COPY scripts/build.ts scripts/
COPY libs/ libs/
COPY apps/ apps/
COPY services/ services/
RUN node --import tsx scripts/build.ts \
  && for dir in libs/* apps/* services/*; do \
    mkdir -p "/out/$dir" && cp "$dir/package.json" "/out/$dir/" && cp -r "$dir/dist" "/out/$dir/" \
    && for shipped in host router ui; do if [ -d "$dir/$shipped" ]; then cp -r "$dir/$shipped" "/out/$dir/"; fi; done; \
  done \
  && find /out -name "*.tsbuildinfo" -delete

FROM ${BASE_IMAGE} AS production-dependencies
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${BASE_IMAGE} AS runtime
# NODE_OPTIONS: the young generation capped as `npm start` caps it (apps/launcher/src/node-options.ts,
# docs/operations.md "Idle memory"); set NODE_OPTIONS to raise it for a busy gateway.
ENV NODE_ENV=production \
  NODE_OPTIONS=--max-semi-space-size=1 \
  SDN_DATA_DIR=/var/lib/sdn \
  SDN_INSTANCE_FILE=/tmp/sdn-instance.json
WORKDIR /app
# node_modules at the top and inside workspaces (npm nests a version that differs from the top's).
COPY --from=production-dependencies /app/ ./
COPY --from=build /out/ ./
COPY docker/healthcheck.mjs ./docker/
RUN mkdir -p /var/lib/sdn && chown node:node /var/lib/sdn
USER node

FROM runtime AS network-guru
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "network-guru"]
CMD ["node", "services/network-guru/dist/main.js"]

FROM runtime AS ovs-element
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "ovs-element"]
CMD ["node", "services/ovs-element/dist/main.js"]

FROM runtime AS vr-manager
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "vr-manager"]
CMD ["node", "services/vr-manager/dist/main.js"]

FROM runtime AS hypervisor-agent
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "hypervisor-agent"]
CMD ["node", "services/hypervisor-agent/dist/main.js"]

# Last, so that a plain `docker build .` gives the gateway.
FROM runtime AS api-gateway
ENV SDN_HTTP_HOST=0.0.0.0 \
  SDN_HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "docker/healthcheck.mjs", "api-gateway"]
CMD ["node", "services/api-gateway/dist/main.js"]
