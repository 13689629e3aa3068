#!/usr/bin/env bash
# Benchmark (not a test): COUNT Kustomizations of PER objects each, all from one GitRepository,
# reconciled by `flotilla controller` against `flotilla dev cluster`; time from controller start
# until every Kustomization is Ready, and the controller's peak RSS.
#
#   cargo build --release -p flotilla
#   bench/reconcile/many_kustomizations.sh [COUNT=1000] [PER=10] [CONCURRENT=10]
#
# FLOTILLA names the binary (default: $CARGO_TARGET_DIR/release/flotilla, else target/release).
# Each app is what Flux's own benchmark (fluxcd/flux-benchmark) deploys per app, a Deployment
# scaled to zero, a ServiceAccount, a Service and an Ingress, plus ConfigMaps up to PER objects;
# one directory per app without kustomization.yaml (the controller generates it, as Flux does).
# The dev cluster runs in its own process, so the RSS figure is the controller's alone.
set -euo pipefail

COUNT=${1:-1000}
PER=${2:-10}
CONCURRENT=${3:-10}
[ "$PER" -ge 4 ] || { echo "PER must be at least 4" >&2; exit 2; }
. "$(dirname "$0")/lib.sh"

start_cluster
names=()
for i in $(seq -f '%04g' 0 $((COUNT - 1))); do
  names+=("app-$i")
  mkdir -p "$work/fleet/apps/app-$i"
  {
    cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
spec:
  replicas: 0
  selector:
    matchLabels:
      app: app-$i
  template:
    metadata:
      labels:
        app: app-$i
    spec:
      serviceAccountName: app-$i
      containers:
      - name: app
        image: ghcr.io/stefanprodan/podinfo:6.5.0
        ports:
        - containerPort: 9898
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-$i
---
apiVersion: v1
kind: Service
metadata:
  name: app-$i
spec:
  selector:
    app: app-$i
  ports:
  - port: 80
    targetPort: 9898
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-$i
spec:
  rules:
  - host: app-$i.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: app-$i
            port:
              number: 80
YAML
    for c in $(seq $((PER - 4))); do
      printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-%s-config-%s\ndata:\n  index: "%s"\n  settings.yaml: |\n    level: %s\n' "$i" "$c" "$i" "$c"
    done
  } >"$work/fleet/apps/app-$i/manifests.yaml"
done
commit_fleet
apply_sync "${names[@]}"

ready() {
  k get kustomizations -n flux-system \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    grep -c '^True$' || true
}

start=$(now)
start_controller "$CONCURRENT"
n=0
while [ "$n" -lt "$COUNT" ]; do
  sleep 0.5
  n=$(ready)
  echo "$(since "$start") s: $n/$COUNT Ready" >>"${PROGRESS:-/dev/null}"
  check_alive "$start"
done
elapsed=$(since "$start")
busy=$(reconcile_seconds)
stop_controller
objects=$(k get deployments,serviceaccounts,services,ingresses,configmaps -n apps -o name | grep -c '/app-' || true)

printf 'kustomizations:        %d (%d objects each; %d objects live in namespace apps)\n' "$COUNT" "$PER" "$objects"
printf 'all Ready after:       %.1f s (--concurrent %d; reconciles took %.1f s in sum)\n' "$elapsed" "$CONCURRENT" "$busy"
printf 'controller peak RSS:   %d MiB\n' "$rss_mib"
printf 'controller errors:     %d\n' "$(errors)"
