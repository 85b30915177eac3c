#!/usr/bin/env bash
# Adds up cargo's per-binary "test result" lines into one closing line: "tests: N passed, N failed".
set -euo pipefail
log=$1
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log"
