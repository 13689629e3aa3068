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

# median wall seconds, median CPU seconds (user+sys) and median peak KiB of RUNS runs of "$@"
measure() {
  : > "$TMP/runs"
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$TMP/t" "$@" >/dev/null 2>&1 || true
    awk '{print $1, $2+$3, $4}' "$TMP/t" >> "$TMP/runs"
  done
  mid=$(( (RUNS + 1) / 2 ))
  for col in 1 2 3; do
    awk -v c=$col '{print $c}' "$TMP/runs" | sort -g | sed -n "${mid}p"
  done | tr '\n' ' '
  echo
}

row() {
  label=$1; dir=$2
  k=$(measure kubectl kustomize "$dir")
  f=$(measure "$FLOTILLA" kustomize "$dir")
  echo "$label $k $f" | awk '{kt=$2; kc=$3; km=$4; ft=$5; fc=$6; fm=$7; if (ft<0.005) ft=0.005; if (fc<0.005) fc=0.005;
    printf "| %-58s | %7.3f | %7.3f | %6.1fx | %6.1fx | %6.1f | %6.1f | %5.2f |\n", $1, kt, ft, kt/ft, kc/fc, km/1024, fm/1024, fm/km}'
}

echo "| directory | kubectl wall s | flotilla wall s | wall speed-up | CPU speed-up | kubectl MiB | flotilla MiB | RSS ratio |"
echo "|---|---|---|---|---|---|---|---|"
[ -n "${SKIP_CORPUS:-}" ] || for f in "$CORPUS"/_expected-kubectl-kustomize-v5.5.0/*.yaml; do
  n=$(basename "$f" .yaml)
  row "$n" "$CORPUS/$(echo "$n" | tr '~' '/')"
done
for size in ${SIZES:-10:20 20:20 50:38}; do
  b=${size%%:*}; p=${size##*:}
  python3 "$HERE/gen_tree.py" "$TMP/tree-$b" "$b" "$p"
  objs=$("$FLOTILLA" kustomize "$TMP/tree-$b/top" | grep -c '^kind:')
  row "generated:${b}bases:${objs}objects" "$TMP/tree-$b/top"
done
