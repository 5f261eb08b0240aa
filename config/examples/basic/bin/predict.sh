#!/bin/sh
# Stand-in for the `signals` job: scores the day with both models.
set -eu
for m in result goals; do
  test -f "$OUT_DIR/model-$m.txt" || { echo "model $m missing" >&2; exit 1; }
done
echo "$1,home=0.46,draw=0.27,away=0.27,over2.5=0.52" > "$OUT_DIR/signals-$1.csv"
echo "wrote signals for $1"
