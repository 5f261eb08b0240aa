#!/bin/sh
# Stand-in for the `features` job: writes one feature row per day.
set -eu
mkdir -p "$OUT_DIR"
echo "aggregating features for $1 (run $MLCRON_RUN_ID, scheduled $MLCRON_SCHEDULED)"
printf '%s,%s\n' "$1" "$(date -u +%s)" >> "$OUT_DIR/features.csv"
echo "features.csv now has $(wc -l < "$OUT_DIR/features.csv") rows"
