#!/bin/sh
# Benchmark (run by hand, not in CI): `flotilla kustomize` (release) vs `kubectl kustomize` on
# every corpus kustomization. Wall times are hyperfine means (load-dependent: note the machine
# load printed first); instruction counts from callgrind are load-independent and are taken for
# the dirs named in CALLGRIND_DIRS (kubectl too unless SKIP_KUBECTL_CALLGRIND is set; when
# valgrind cannot run kubectl, `perf stat -e instructions` is tried).
# Usage: bench/kustomize/bench.sh [path/to/flotilla] ; env RUNS (hyperfine runs, default 10).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FLOTILLA=${1:-$HERE/../../target/release/flotilla}
FLOTILLA=$(cd "$(dirname "$FLOTILLA")" && pwd)/$(basename "$FLOTILLA")
RUNS=${RUNS:-10}
CORPUS=$(cd "$HERE/../../../shared/corpus" && pwd)
EXPECTED=$CORPUS/_expected-kubectl-kustomize-v5.5.0
CALLGRIND_DIRS=${CALLGRIND_DIRS:-"podinfo~deploy~overlays~dev flux2-kustomize-helm-example~apps~base~podinfo tyyzqmf-flux-repo~apps~overlays~development tyyzqmf-flux-repo~infrastructure~overlays~development podinfo~deploy~overlays~staging"}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install hyperfine" >&2; exit 1; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo
echo "| directory | objects | kubectl ms | flotilla ms | wall ratio | kubectl CPU ms | flotilla CPU ms | CPU ratio | identical |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "$EXPECTED"/*.yaml; do
  n=$(basename "$f" .yaml)
  dir=$CORPUS/$(echo "$n" | tr '~' '/')
  [ -d "$dir" ] || continue
  "$FLOTILLA" kustomize "$dir" > "$TMP/out" 2>/dev/null || true
  same=no; cmp -s "$TMP/out" "$f" && same=yes
  objs=$(grep -c '^kind:' "$f" || true)
  hyperfine -N --style none --warmup 1 --runs "$RUNS" -i --export-json "$TMP/h.json" \
    "kubectl kustomize $dir" "$FLOTILLA kustomize $dir" >/dev/null 2>&1
  python3 - "$TMP/h.json" "$n" "$objs" "$same" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
k, f = r[0]["mean"] * 1000, r[1]["mean"] * 1000
kc, fc = (r[0]["user"] + r[0]["system"]) * 1000, (r[1]["user"] + r[1]["system"]) * 1000
print(f"| {sys.argv[2]} | {sys.argv[3]} | {k:.1f} | {f:.2f} | {k / max(f, 1e-6):.0f}x "
      f"| {kc:.1f} | {fc:.2f} | {kc / max(fc, 1e-6):.0f}x | {sys.argv[4]} |")
PY
done

echo
echo "Instructions (callgrind for flotilla; kubectl by callgrind or perf stat):"
echo
echo "| directory | kubectl instructions | flotilla instructions | ratio |"
echo "|---|---|---|---|"
instr_callgrind() {
  valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" "$@" >/dev/null 2>"$TMP/cg.err" || return 1
  grep -m1 '^summary:' "$TMP/cg.out" | awk '{print $2}'
}
instr_perf() {
  perf stat -x, -e instructions:u "$@" 2>"$TMP/perf" >/dev/null || return 1
  awk -F, '/instructions/ {print $1; exit}' "$TMP/perf" | grep -E '^[0-9]+$'
}
for n in $CALLGRIND_DIRS; do
  dir=$CORPUS/$(echo "$n" | tr '~' '/')
  [ -d "$dir" ] || { echo "| $n | missing | | |"; continue; }
  fi=$(instr_callgrind "$FLOTILLA" kustomize "$dir" || echo "")
  ki=""
  [ -n "${SKIP_KUBECTL_CALLGRIND:-}" ] || ki=$(instr_callgrind kubectl kustomize "$dir" || echo "")
  [ -n "$ki" ] || ki=$(instr_perf kubectl kustomize "$dir" || echo "")
  python3 - "$n" "$ki" "$fi" <<'PY'
import sys
n, k, f = sys.argv[1], sys.argv[2], sys.argv[3]
ratio = f"{int(k) / int(f):.0f}x" if k and f else "n/a"
fmt = lambda v: f"{int(v):,}" if v else "n/a"
print(f"| {n} | {fmt(k)} | {fmt(f)} | {ratio} |")
PY
done
