# weightguard in a container: `docker build -t weightguard .` (or podman), then
# `docker run --rm -v "$PWD:/data:ro" weightguard audit /data`. Used by docs/audit.md's
# Kubernetes Indexed Job.
#
# Build stage: the locked dependency set, release profile. Pass the commit for `--version`
# (the build context leaves out .git): --build-arg WEIGHTGUARD_COMMIT=$(git rev-parse --short=12 HEAD)
#
# The base images are arguments so that a machine without a container registry can build from
# local images with the same contents (scripts/test-container: Debian bookworm from Debian's
# archive, with gcc and a Rust 1.95 toolchain for the build stage).
ARG BUILD_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
ARG WEIGHTGUARD_COMMIT=unknown
ENV WEIGHTGUARD_COMMIT=${WEIGHTGUARD_COMMIT}
RUN cargo build --release --locked --bin weightguard \
 && strip target/release/weightguard

# Runtime: glibc and CA certificates (for S3 over HTTPS), the binary, an unprivileged user.
FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin weightguard
COPY --from=build /src/target/release/weightguard /usr/local/bin/weightguard
USER 10001
WORKDIR /data
ENTRYPOINT ["/usr/local/bin/weightguard"]
CMD ["--help"]
