#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing with AFL++ through cargo-afl (the stable toolchain; cargo fuzz
# needs nightly). Targets (fuzz/src/bin): `webhook` — every provider's handshake/verify/parse on
# arbitrary bodies, seeded with all the real fixtures; `abi` — the C ABI's calls on arbitrary method
# names, JSON and bodies. FUZZ_EXECS executions per target (default 10 000 000), or FUZZ_SECONDS
# per target when set (`make test` runs 15 s each); crashes land in
# target/fuzz/<target>/default/crashes and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
EXECS=${FUZZ_EXECS:-10000000}
if [ -n "${FUZZ_SECONDS:-}" ]; then
  limit=(-V "$FUZZ_SECONDS")
else
  limit=(-E "$EXECS")
fi
command -v cargo-afl >/dev/null || cargo install cargo-afl --locked
(cd fuzz && cargo afl build --release)
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1
status=0
for target in webhook abi; do
  out=target/fuzz/$target
  rm -rf "$out"
  mkdir -p "$out"
  (cd fuzz && cargo afl fuzz "${limit[@]}" -i "seeds/$target" -o "../$out" "target/release/$target" >"../$out/afl.log" 2>&1) || true
  stats=$out/default/fuzzer_stats
  crashes=$(awk -F: '/saved_crashes/ {gsub(/ /,"",$2); print $2}' "$stats")
  printf 'fuzz %-8s %s executions, %s/s, %s corpus items, %s crashes, %s hangs\n' "$target" \
    "$(awk -F: '/execs_done/ {gsub(/ /,"",$2); print $2}' "$stats")" \
    "$(awk -F: '/execs_per_sec/ {gsub(/ /,"",$2); print $2}' "$stats")" \
    "$(awk -F: '/corpus_count/ {gsub(/ /,"",$2); print $2}' "$stats")" "$crashes" \
    "$(awk -F: '/saved_hangs/ {gsub(/ /,"",$2); print $2}' "$stats")"
  [ "$crashes" = "0" ] || status=1
done
exit $status
