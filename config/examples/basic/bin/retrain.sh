#!/bin/sh
# Stand-in for the `retrain` job: "trains" model $1 from the feature rows.
set -eu
rows=$(wc -l < "$OUT_DIR/features.csv")
echo "retraining model $1 on $rows feature rows"
echo "model=$1 rows=$rows trained_at=$(date -u +%FT%TZ)" > "$OUT_DIR/model-$1.txt"
