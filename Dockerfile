# syntax=docker/dockerfile:1
# leakscope in a container: `docker run --rm -v "$PWD:/src" ghcr.io/<owner>/leakscope scan --git .`
# Also the image of the pre-commit framework's `leakscope-docker` hook (it mounts the
# repository at /src and runs there).

# Build: the locked dependency set, release profile. libgit2 is vendored and built
# with the C compiler the rust image carries.
FROM rust:1-slim-bookworm AS build
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY rules ./rules
# Cargo.toml declares the benchmark target; its file must exist for the manifest to load.
COPY benches ./benches
RUN cargo build --release --locked \
    && cp target/release/leakscope /leakscope

# Run: git for history scans and hooks, CA certificates for --verify, no compiler.
# A mounted repository belongs to another uid, and git refuses to read those: the
# safe.directory setting is in the system config so it holds for any uid (pre-commit
# runs the image as the host user).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin leakscope \
    && git config --system --add safe.directory '*'
COPY --from=build /leakscope /usr/local/bin/leakscope
USER leakscope
WORKDIR /src
ENTRYPOINT ["leakscope"]
CMD ["--help"]
