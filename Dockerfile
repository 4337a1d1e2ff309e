# Maat node image: maatd (validator / full node), maat-testnet (launcher, `init` in Compose) and
# the maat CLI. Multi-stage: the toolchain stays in the build stage; the runtime image is
# Debian slim with the three binaries.
#
#   docker build -t maat:local .
#   docker compose -f docker/compose.yaml up -d      # 4 validators + 1 full node
#
# CI has no Docker engine: it validates docker/compose.yaml with `docker-compose config` and runs
# the same build commands as below outside Docker (testnet/tests/docker.rs, docker/build.sh).

FROM rust:1.95-bookworm AS build
# clang/libclang: bindgen for librocksdb-sys; no protoc is needed (protox compiles the .proto files).
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang libclang-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN MAAT_PROFILE=release MAAT_OUT=/out bash docker/build.sh

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /maat --create-home maat \
 && mkdir -p /testnet && chown maat:maat /testnet
COPY --from=build /out/ /usr/local/bin/
USER maat
WORKDIR /maat
# p2p, JSON-RPC (+ WebSocket), gRPC, metrics
EXPOSE 26656 8545 9090 9100
ENTRYPOINT ["tini", "--", "maatd"]
CMD ["--help"]
