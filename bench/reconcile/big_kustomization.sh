#!/usr/bin/env bash
# Benchmark (not a test): one Kustomization of COUNT objects (ConfigMaps, Services, Deployments
# in turn) reconciled by `flotilla controller` against `flotilla dev cluster`: the first
# reconcile, then a reconcile requested with nothing changed (fetch, build, dry-run check of
# every object, status), timed by the controller's own reconcile-duration metric and from the
# request to Ready as a client sees it; the controller's peak RSS.
#
#   cargo build --release -p flotilla
#   bench/reconcile/big_kustomization.sh [COUNT=5000] [ROUNDS=3]
set -euo pipefail

COUNT=${1:-5000}
ROUNDS=${2:-3}
. "$(dirname "$0")/lib.sh"

start_cluster
mkdir -p "$work/fleet/apps/big"
for i in $(seq -f '%05g' 0 $((COUNT - 1))); do
  case $((10#$i % 3)) in
  0) printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-%s\n  labels:\n    app: obj-%s\ndata:\n  index: "%s"\n  config.yaml: |\n    key: value-%s\n' "$i" "$i" "$i" "$i" ;;
  1) printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: obj-%s\n  labels:\n    app: obj-%s\nspec:\n  selector:\n    app: obj-%s\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n' "$i" "$i" "$i" ;;
  2) printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: obj-%s\n  labels:\n    app: obj-%s\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: obj-%s\n  template:\n    metadata:\n      labels:\n        app: obj-%s\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app:%s\n        ports:\n        - containerPort: 8080\n        env:\n        - name: INDEX\n          value: "%s"\n        resources:\n          requests:\n            cpu: 10m\n            memory: 16Mi\n' "$i" "$i" "$i" "$i" "$i" "$i" ;;
  esac
done >"$work/fleet/apps/big/manifests.yaml"
commit_fleet
apply_sync big

# Ready=True with lastHandledReconcileAt at $1 (empty: any).
handled() {
  k get kustomization big -n flux-system \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.status.lastHandledReconcileAt}{"\n"}' |
    grep -q "^True ${1}"
}

start=$(now)
start_controller 4
until handled ""; do sleep 0.2; check_alive "$start"; done
first=$(since "$start")
first_busy=$(reconcile_seconds)
printf 'objects:                       %d\n' "$COUNT"
printf 'first reconcile:               %.2f s (metric), %.1f s from controller start to Ready\n' "$first_busy" "$first"
for r in $(seq "$ROUNDS"); do
  before=$(reconcile_seconds)
  token="bench-$r-$(date +%s%N)"
  start=$(now)
  k annotate kustomization big -n flux-system --overwrite "reconcile.fluxcd.io/requestedAt=$token" >/dev/null
  until handled "$token"; do sleep 0.05; check_alive "$start"; done
  wall=$(since "$start")
  printf 'no-change reconcile %d:         %.2f s (metric), %.2f s request to Ready\n' "$r" "$(echo "$(reconcile_seconds) - $before" | bc)" "$wall"
done
live=$(k get configmaps,services,deployments -n apps -o name | grep -c '/obj-' || true)
printf 'objects live:                  %d\n' "$live"
stop_controller
printf 'controller peak RSS:           %d MiB\n' "$rss_mib"
printf 'controller errors:             %d\n' "$(errors)"
