#!/usr/bin/env bash
# Regenerate manifests/flotilla.yaml from the flotilla binary of this checkout.
# crates/flotilla/tests/aws_manifests.rs fails when the committed file differs from
# `flotilla install --export`, so run this after changing what `install` exports.
set -euo pipefail
cd "$(dirname "$0")/../../.."
cargo run --quiet -p flotilla -- install --export > deploy/aws/manifests/flotilla.yaml
echo "wrote deploy/aws/manifests/flotilla.yaml"
