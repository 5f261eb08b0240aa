#!/bin/sh
# Stand-in for the export step: copies the day's signals to the outbox.
set -eu
mkdir -p "$OUT_DIR/outbox"
cp "$OUT_DIR/signals-$1.csv" "$OUT_DIR/outbox/"
echo "published signals-$1.csv (run $2)"
