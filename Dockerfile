# A small static image of the flotilla binary (musl, no libc at run time), for `flotilla install`.
# Build: docker build -t flotilla:dev .
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p flotilla && cp target/release/flotilla /flotilla

FROM scratch
COPY --from=build /flotilla /flotilla
# Matches the install manifests' securityContext (runAsNonRoot, read-only root filesystem).
USER 65534:65534
ENTRYPOINT ["/flotilla"]
CMD ["controller"]
