# A small image of the flotilla binary: a static build (glibc, crt-static) on Alpine with the
# git client the controller runs for fetches, pushes and image automation commits.
#   docker build -t flotilla .
#   docker run --rm flotilla version --client

# crt-static with an explicit --target makes a static-pie binary (ldd says "statically linked",
# not "not a dynamic executable"), so the check below looks for an ELF interpreter instead.
# Measured outside Docker (glibc 2.36 as in bookworm): 27.2 MB stripped, 10.6 MB gzipped.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target x86_64-unknown-linux-gnu -p flotilla \
 && cp target/x86_64-unknown-linux-gnu/release/flotilla /flotilla \
 && if readelf -lW /flotilla | grep -q 'program interpreter'; then echo 'flotilla is not static' >&2; exit 1; fi

FROM alpine:3.20
# git for the source, bootstrap and image automation; ssh for ssh:// remotes; CA roots for https.
RUN apk add --no-cache git openssh-client ca-certificates
COPY --from=build /flotilla /usr/local/bin/flotilla
# Matches the install manifests' securityContext (runAsNonRoot, read-only root filesystem).
USER 65534:65534
ENTRYPOINT ["/usr/local/bin/flotilla"]
CMD ["controller"]
