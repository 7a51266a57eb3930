# benchmark-harness in a container: the CLI plus the fixture corpus, for sharded load runs on
# Kubernetes (deploy/kubernetes/) or anywhere else a container runs.
#
#   docker build -t benchmark-harness:dev .
#   docker run --rm benchmark-harness:dev bench --url http://HOST:PORT --fixture fixtures/rest/bench/hello.json
#
# Built from source (no prebuilt binary): the Rust toolchain of the first stage compiles the
# workspace's `benchmark-harness` package exactly as CI does.

# Pinned so that an image built today and one built next month are the same compiler; the
# workspace needs >= 1.89 (rust-version, edition 2024). Build and run stages share one Debian
# release (trixie), so the binary's glibc is the one it runs with.
ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
# Every workspace member's manifest must be present for cargo to read the workspace, even when
# one package is built; fixtures/ too, since harness/fixture embeds fixtures/schema/ at compile
# time. Copied piecewise so that editing docs or snapshots does not rebuild.
COPY Cargo.toml Cargo.lock ./
COPY fixtures fixtures
COPY harness harness
COPY runners/rust-axum runners/rust-axum
COPY snapshots/Cargo.toml snapshots/Cargo.toml
COPY snapshots/src snapshots/src
COPY scripts/peers scripts/peers
# The registry and target folders are BuildKit cache mounts (BuildKit is Docker's default
# builder since 23.0): a rebuild after a source change recompiles only the workspace. The
# binary is copied out of the cache mount in the same step, without its line tables (the
# release profile keeps them for backtraces: 168 MB instead of 36 MB, for every node to pull).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p benchmark-harness \
    && strip --strip-debug -o /usr/local/bin/benchmark-harness target/release/benchmark-harness

FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: the system CA store, for https:// and wss:// targets.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent harness
COPY --from=build /usr/local/bin/benchmark-harness /usr/local/bin/benchmark-harness
# The corpus at a known path; as the working directory, `--fixture fixtures/...` and `serve`'s
# default `./fixtures` both resolve there.
COPY fixtures /opt/benchmark-harness/fixtures
WORKDIR /opt/benchmark-harness
# Not root (the user is made above): numeric, so that Kubernetes' runAsNonRoot can check it.
USER 10001
ENTRYPOINT ["benchmark-harness"]
CMD ["--help"]
