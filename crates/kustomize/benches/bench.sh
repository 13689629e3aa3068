#!/bin/sh
# Benchmark (run by hand): flotilla kustomize vs kubectl kustomize, wall time and peak RSS,
# median of RUNS runs, on every corpus kustomization and on generated trees of growing size.
# Usage: crates/kustomize/benches/bench.sh [path/to/flotilla] [RUNS]
set -eu
FLOTILLA=${1:-target/release/flotilla}
RUNS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
CORPUS=$(cd "$HERE/../../../../shared/corpus" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# median wall seconds and median peak KiB of RUNS runs of "$@"
measure() {
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$TMP/t" "$@" >/dev/null 2>&1 || true
    cat "$TMP/t"
  done | sort -n -k1 | awk '{t[NR]=$1; m[NR]=$2} END {n=int((NR+1)/2); asort(m); printf "%s %s\n", t[n], m[n]}'
}

row() {
  label=$1; dir=$2
  k=$(measure kubectl kustomize "$dir")
  f=$(measure "$FLOTILLA" kustomize "$dir")
  echo "$label $k $f" | awk '{kt=$2; km=$3; ft=$4; fm=$5; if (ft<0.005) ft=0.005;
    printf "| %-62s | %7.3f | %7.3f | %6.1fx | %8d | %8d | %5.2f |\n", $1, kt, ft, kt/ft, km/1024, fm/1024, fm/km}'
}

echo "| directory | kubectl s | flotilla s | speed-up | kubectl MiB | flotilla MiB | RSS ratio |"
echo "|---|---|---|---|---|---|---|"
for f in "$CORPUS"/_expected-kubectl-kustomize-v5.5.0/*.yaml; do
  n=$(basename "$f" .yaml)
  row "$n" "$CORPUS/$(echo "$n" | tr '~' '/')"
done
for size in 10:20 20:20 50:38; do
  b=${size%%:*}; p=${size##*:}
  python3 "$HERE/gen_tree.py" "$TMP/tree-$b" "$b" "$p"
  objs=$("$FLOTILLA" kustomize "$TMP/tree-$b/top" | grep -c '^kind:')
  row "generated:${b}bases:${objs}objects" "$TMP/tree-$b/top"
done
