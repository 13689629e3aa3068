# Shared by the reconcile benchmarks (sourced, not run): a dev cluster in its own process with
# Flux's CRDs, a Git repository, the controller under /usr/bin/time, polling helpers.
# Needs kubectl, git, bc, curl, GNU time.

FLOTILLA=${FLOTILLA:-${CARGO_TARGET_DIR:-target}/release/flotilla}
[ -x "$FLOTILLA" ] || { echo "no flotilla binary at $FLOTILLA: cargo build --release -p flotilla" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
k() { kubectl --cache-dir "$work/kcache" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The API server alone, in memory, simulated node off (nothing here waits on workloads); then
# the CRDs and namespaces `flotilla install` ships, and the namespace `apps`.
start_cluster() {
  /usr/bin/time -f '%M' -o "$work/cluster.rss" \
    "$FLOTILLA" dev cluster --port 0 --no-simulate --data-dir "$work/cluster" >"$work/cluster.log" 2>&1 &
  pids+=($!)
  export KUBECONFIG="$work/cluster/kubeconfig"
  for _ in $(seq 100); do [ -s "$KUBECONFIG" ] && k get ns default >/dev/null 2>&1 && break; sleep 0.1; done
  "$FLOTILLA" install --export | k apply --server-side -f - >/dev/null
  k wait --for=condition=Established crd --all --timeout=60s >/dev/null
  k create namespace apps >/dev/null
}

# Commits everything under $work/fleet on branch main.
commit_fleet() {
  git -C "$work/fleet" init -q -b main
  git -C "$work/fleet" add -A
  git -C "$work/fleet" -c user.name=bench -c user.email=bench@example.com commit -q -m fleet
}

# The GitRepository `fleet` (file:// URL) and one Kustomization per name in "$@" (path
# ./apps/<name>, into namespace apps), applied in one request.
apply_sync() {
  {
    printf 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 1h\n  ref:\n    branch: main\n  url: file://%s\n' "$work/fleet"
    for name in "$@"; do
      printf -- '---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: %s\n  namespace: flux-system\nspec:\n  interval: 1h\n  timeout: 5m\n  prune: true\n  path: ./apps/%s\n  targetNamespace: apps\n  sourceRef:\n    kind: GitRepository\n    name: fleet\n' "$name" "$name"
    done
  } >"$work/sync.yaml"
  k apply --server-side -f "$work/sync.yaml" >/dev/null
}

# Starts the controller (metrics on $metrics_port); sets $timer (the time process).
start_controller() {
  metrics_port=$(free_port)
  NO_COLOR=1 /usr/bin/time -f '%M' -o "$work/controller.rss" \
    "$FLOTILLA" controller --storage-path "$work/storage" --storage-addr 127.0.0.1:0 \
    --metrics-addr "127.0.0.1:$metrics_port" --concurrent "$1" --log-level warn 2>"$work/controller.log" &
  timer=$!
  pids+=($timer)
}

# Fails the benchmark if the controller died or $1 (a start time) is more than 600 s ago.
check_alive() {
  if ! kill -0 "$timer" 2>/dev/null; then
    echo "the controller exited:" >&2; tail -20 "$work/controller.log" >&2; exit 1
  fi
  if [ "$(echo "$(since "$1") > 600" | bc)" = 1 ]; then
    echo "timed out" >&2; tail -20 "$work/controller.log" >&2; exit 1
  fi
}

# Stops the controller (the child of time, so time reports its peak RSS); sets $rss_mib.
# Not to be run in a subshell: only this shell can wait for the time process.
stop_controller() {
  kill -TERM "$(pgrep -P "$timer")"
  wait "$timer" || true
  rss_mib=$(($(tail -1 "$work/controller.rss") / 1024))
}

# The sum of Kustomization reconcile durations the controller's metrics report, in seconds.
reconcile_seconds() {
  curl -s "http://127.0.0.1:$metrics_port/metrics" |
    awk '/^gotk_reconcile_duration_seconds_sum\{.*kind="Kustomization"/ { s += $2 } END { printf "%.3f\n", s + 0 }'
}

errors() { grep -c "ERROR" "$work/controller.log" || true; }
