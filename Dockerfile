# syntax=docker/dockerfile:1
# Umbra in one container: the bot, its HTTP server and workers, and PostgreSQL server binaries for
# the embedded database (data in the /data volume). Set DISCORD_TOKEN (and UMBRA_SECRET_KEY) at
# run time; set DATABASE_URL to use an external PostgreSQL instead.
#
#   docker build -t umbra .
#   docker run -d --name umbra -e DISCORD_TOKEN=... -e UMBRA_SECRET_KEY=... \
#     -v umbra-data:/data -p 8080:8080 umbra

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN} AS build
WORKDIR /src
# 1. Dependencies only, from the manifests and empty sources: this layer is rebuilt only when
#    Cargo.toml/Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
COPY entity/Cargo.toml entity/Cargo.toml
COPY migration/Cargo.toml migration/Cargo.toml
COPY emulator/Cargo.toml emulator/Cargo.toml
COPY toss-emulator/Cargo.toml toss-emulator/Cargo.toml
COPY bench/Cargo.toml bench/Cargo.toml
# serenity with Umbra's patch (see vendor/README.md) is a dependency like the others.
COPY vendor vendor
RUN mkdir -p src entity/src migration/src emulator/src toss-emulator/src bench/src tests/e2e \
 && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
 && touch entity/src/lib.rs migration/src/lib.rs emulator/src/lib.rs toss-emulator/src/lib.rs \
 && echo 'fn main() {}' > emulator/src/main.rs \
 && echo 'fn main() {}' > toss-emulator/src/main.rs \
 && echo 'fn main() {}' > bench/src/main.rs \
 && echo 'fn main() {}' > tests/e2e/main.rs \
 && cargo build --release --locked -p umbra --bin umbra \
 && rm -rf src entity/src migration/src emulator/src toss-emulator/src bench/src tests
# 2. The sources.
COPY . .
RUN touch src/main.rs src/lib.rs entity/src/lib.rs migration/src/lib.rs emulator/src/lib.rs \
    toss-emulator/src/lib.rs \
 && cargo build --release --locked -p umbra --bin umbra \
 && install -m 0755 target/release/umbra /usr/local/bin/umbra

FROM debian:${DEBIAN}-slim AS runtime
# postgresql: server binaries for the embedded database (initdb, postgres), found under
# /usr/lib/postgresql/*/bin. curl: the HEALTHCHECK probe.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql ca-certificates curl tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --home-dir /data --shell /usr/sbin/nologin umbra \
 && mkdir -p /data /etc/umbra \
 && chown umbra:umbra /data
COPY --from=build /usr/local/bin/umbra /usr/local/bin/umbra
COPY config.toml /etc/umbra/config.toml
# MIMALLOC_*: give freed memory back to the OS at once and commit arenas as they fill (mimalloc
# reads these at start): at 1,000 guilds of 100 members a lower and steadier peak (README,
# `umbra-bench scale`).
ENV UMBRA_CONFIG=/etc/umbra/config.toml \
    UMBRA_DATA_DIR=/data \
    UMBRA_HTTP_BIND=0.0.0.0:8080 \
    MIMALLOC_PURGE_DELAY=0 \
    MIMALLOC_ARENA_EAGER_COMMIT=0
# Non-root: postgres refuses to run as root, and so should a bot.
USER umbra
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# tini forwards SIGTERM to umbra, which stops its tasks and then the embedded PostgreSQL.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/umbra"]
CMD ["run"]
