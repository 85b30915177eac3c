#!/usr/bin/env bash
# `make bench`: measures crmchats through PHP FFI against baselines taken in the same run, prints a
# table and writes it to bench/last-run.txt.
#   (a) webhook ingest, 1 and 4 PHP processes, vs PDO single-row INSERTs into a copy of the messages table
#   (b) list_dialogs p50/p99 at 10k and 100k seeded dialogs (EXPLAIN/ANALYZE when the target is missed)
#   (c) init: first in a fresh process, repeated with the same configuration, first on an empty database
#   (d) reports.summary over a month at 1 000 000 dialogs vs COUNT of the same month (BENCH_REPORT_DIALOGS)
#   (e) the outbox's send pace: one reservation vs a one-SELECT transaction, 1 and 8 threads on one channel
#   and the database round trips of single calls, counted by a loopback MySQL proxy (examples/bench_sqlcount.rs).
#
# The run creates its own databases (crmchats_bench_<run>_*) and fake Telegram and removes them on exit.
# Knobs: BENCH_N (webhooks / inserts per process, default 2000), BENCH_ROUNDS (default 2, best is shown),
# BENCH_LIST_CALLS (default 500), BENCH_LIST_BUDGET (seconds per list variant, default 10),
# BENCH_LIST_SIZES (default "10000 100000"), BENCH_MYSQL (default mysql://root@127.0.0.1:3306),
# BENCH_KEEP=1 keeps the scratch folder (results.jsonl, logs) for a look afterwards.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

N=${BENCH_N:-2000}
ROUNDS=${BENCH_ROUNDS:-2}
LIST_CALLS=${BENCH_LIST_CALLS:-500}
LIST_BUDGET=${BENCH_LIST_BUDGET:-10}
LIST_SIZES=${BENCH_LIST_SIZES:-"10000 100000"}
CONCURRENCY=4
export BENCH_MYSQL=${BENCH_MYSQL:-mysql://root@127.0.0.1:3306}
export BENCH_TG_TOKEN=${BENCH_TG_TOKEN:-7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE}
export CRMCHATS_LIB=$ROOT/target/release/libcrmchats.so
export CRMCHATS_HEADER=$ROOT/php-bridge/crmchats.ffi.h
# The bridge must not pick up a developer's config.local.php; the bench passes its own configuration.
export CRMCHATS_CONFIG=none
PHP=(php -d ffi.enable=On -d memory_limit=1G -d display_errors=stderr)

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

for n in "$N" "$ROUNDS" "$LIST_CALLS"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_N, BENCH_ROUNDS and BENCH_LIST_CALLS must be positive integers"
done
[ -f "$CRMCHATS_LIB" ] || die "$CRMCHATS_LIB is missing: run make build (make bench does)"
[ -x target/release/fake-telegram ] || die "target/release/fake-telegram is missing: run make build"

if command -v mariadb >/dev/null 2>&1; then MYSQL_CLI=mariadb; else MYSQL_CLI=mysql; fi
server_host=$(php -r 'echo parse_url($argv[1], PHP_URL_HOST) ?: "127.0.0.1";' "$BENCH_MYSQL")
server_port=$(php -r 'echo parse_url($argv[1], PHP_URL_PORT) ?: 3306;' "$BENCH_MYSQL")
server_user=$(php -r 'echo parse_url($argv[1], PHP_URL_USER) ?: "root";' "$BENCH_MYSQL")
sql() { "$MYSQL_CLI" -u"$server_user" -h"$server_host" -P"$server_port" --protocol=TCP -N -B -e "$1"; }
sql 'SELECT 1' >/dev/null || die "MariaDB does not answer at $BENCH_MYSQL"
# The library's mysql driver, given a loopback address, moves to the server's unix socket; the floor
# uses the same socket (bench/lib.php).
BENCH_MYSQL_SOCKET=$(sql 'SELECT @@socket')
export BENCH_MYSQL_SOCKET

RUN="$(date +%H%M%S)_$$"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/crmchats-bench.XXXXXX")
export BENCH_TMP=$TMP BENCH_STORAGE=$TMP/storage
mkdir -p "$BENCH_STORAGE"
RESULTS=$TMP/results.jsonl
: >"$RESULTS"
DATABASES=()
PIDS=()       # servers, stopped at exit
CHILDREN=()   # PHP processes of the step running now, killed when the run is interrupted

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${CHILDREN[@]}" "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${CHILDREN[@]}" "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DATABASES[@]}"; do sql "DROP DATABASE IF EXISTS \`$db\`" || true; done
  if [ "$status" != 0 ] && [ -s "$TMP/crmchats.log" ]; then
    say "library log (last lines):"; tail -n 20 "$TMP/crmchats.log" >&2
  fi
  if [ -n "${BENCH_KEEP:-}" ]; then say "kept $TMP (BENCH_KEEP)"; else rm -rf "$TMP"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Creates database crmchats_bench_<run>_$1 and sets DB to its name (no subshell: DATABASES must grow).
new_db() {
  DB="crmchats_bench_${RUN}_$1"
  DATABASES+=("$DB")
  sql "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
}

# Runs one PHP script as a child the traps can see: bash runs a trap only once a foreground command
# ends, while `wait` returns at once on a signal. usage: php_step OUTFILE SCRIPT ARGS...
php_step() {
  local out=$1; shift
  "${PHP[@]}" "$@" >"$out" &
  CHILDREN=($!)
  wait "${CHILDREN[0]}" || die "$1 failed"
  CHILDREN=()
}

# Appends one result line: {"kind","procs","round","data"}.
record() {
  local kind=$1 procs=$2 round=$3 file=$4
  [ -s "$file" ] || die "$kind produced no result"
  printf '{"kind":"%s","procs":%d,"round":%d,"data":%s}\n' "$kind" "$procs" "$round" "$(tr '\n' ' ' <"$file")" >>"$RESULTS"
}

# Starts a background server; sets ADDR to the last word of its first stdout line matching $2.
start_server() {
  local name=$1 pattern=$2; shift 2
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    if grep -q "$pattern" "$TMP/$name.out" 2>/dev/null; then
      ADDR=$(grep -m1 "$pattern" "$TMP/$name.out" | awk '{print $NF}')
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  cat "$TMP/$name.err" >&2
  die "$name did not start"
}

# Runs $procs copies of a worker script; they init, wait at a barrier, then run together.
run_workers() {
  local kind=$1 script=$2 procs=$3 round=$4 db=$5 channel=$6 n=$7 phase=$8
  local dir="$TMP/run.$kind.$procs.$round"
  mkdir -p "$dir"
  local pids=() w
  for ((w = 0; w < procs; w++)); do
    "${PHP[@]}" "bench/$script" "$db" "$channel" "$w" "$n" "$phase" "$dir" >"$dir/out.$w" 2>"$dir/err.$w" &
    pids+=($!)
  done
  CHILDREN=("${pids[@]}")
  local ready=0
  for _ in $(seq 1 1200); do
    ready=$(find "$dir" -name 'ready.*' | wc -l)
    [ "$ready" -ge "$procs" ] && break
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null || { cat "$dir"/err.* >&2; die "a $kind worker ended before the start"; }
    done
    sleep 0.05
  done
  [ "$ready" -ge "$procs" ] || die "$kind workers did not get ready"
  touch "$dir/go"
  for ((w = 0; w < procs; w++)); do
    wait "${pids[$w]}" || { cat "$dir/err.$w" >&2; die "$kind worker $w failed"; }
    record "$kind" "$procs" "$round" "$dir/out.$w"
  done
  CHILDREN=()
}

started=$(date +%s)

say "building the SQL round-trip counter (examples/bench_sqlcount.rs)"
"${CARGO:-cargo}" build --release --quiet --example bench_sqlcount

start_server fake-telegram 'API base for crmchats:' \
  target/release/fake-telegram --listen 127.0.0.1:0 --token "$BENCH_TG_TOKEN"
export BENCH_TG_API=$ADDR
say "fake Telegram on $BENCH_TG_API"

lib_version=$("${PHP[@]}" -r 'require "php-bridge/Crmchats.php"; echo (new Crmchats())->version();')
cat >"$TMP/meta.json" <<EOF
{"date":"$(date -u '+%Y-%m-%d %H:%M UTC')","php":"$(php -r 'echo PHP_VERSION;')","mariadb":"$(sql 'SELECT VERSION()')",
 "cpus":$(nproc),"lib_version":"$lib_version","git":"$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src sql 2>/dev/null || echo '+dirty')",
 "n":$N,"rounds":$ROUNDS,"list_calls":$LIST_CALLS,"list_budget":$LIST_BUDGET,"socket":"$BENCH_MYSQL_SOCKET",
 "flush_log_at_trx_commit":$(sql 'SELECT @@innodb_flush_log_at_trx_commit'),"buffer_pool_mb":$(sql 'SELECT @@innodb_buffer_pool_size DIV 1048576')}
EOF
record meta 0 0 "$TMP/meta.json"

# --- (a) webhook ingest vs the PDO floor -------------------------------------------------------------
new_db ingest
ingest_db=$DB
php_step "$TMP/setup.json" bench/setup_ingest.php "$ingest_db"
channel=$(php -r 'echo json_decode(file_get_contents($argv[1]), true)["channel_id"];' "$TMP/setup.json")
say "ingest: channel $channel created through channels.create; warm-up: first message of 50 new visitors"
# Phase 1 = the warm-up's ids; the timed rounds use phases 11 and up.
run_workers ingest_new_visitors ingest_worker.php 1 0 "$ingest_db" "$channel" 50 1
for ((round = 1; round <= ROUNDS; round++)); do
  for procs in 1 "$CONCURRENCY"; do
    phase=$((10 * round + procs))
    say "round $round/$ROUNDS, $procs process(es): floor ($N inserts each), then ingest ($N webhooks each)"
    run_workers floor floor_worker.php "$procs" "$round" "$ingest_db" "$channel" "$N" "$phase"
    run_workers ingest ingest_worker.php "$procs" "$round" "$ingest_db" "$channel" "$N" "$phase"
  done
done

say "counting database round trips per call through the proxy; timing one round trip"
php_step "$TMP/rtt.json" bench/rtt.php "$ingest_db" 2000
record rtt 1 0 "$TMP/rtt.json"
start_server sqlcount 'listening on' \
  target/release/examples/bench_sqlcount --upstream "$server_host:$server_port" --log "$TMP/sql.log"
proxy_addr=$ADDR
php_step "$TMP/sqlcount.json" bench/sqlcount.php "$ingest_db" "$channel" "mysql://$server_user@$proxy_addr" "$TMP/sql.log"
record sqlcount 1 0 "$TMP/sqlcount.json"

# --- (b) list_dialogs at 10k and 100k dialogs --------------------------------------------------------
new_db list
list_db=$DB
seeded=0
for size in $LIST_SIZES; do
  say "list_dialogs: seeding dialogs $((seeded + 1))..$size"
  php_step "$TMP/seed.$size.json" bench/seed.php "$list_db" $((seeded + 1)) "$size"
  record seed "$size" 0 "$TMP/seed.$size.json"
  seeded=$size
  say "list_dialogs: $LIST_CALLS calls per variant at $size dialogs (budget ${LIST_BUDGET}s per variant)"
  php_step "$TMP/list.$size.json" bench/list.php "$list_db" "$LIST_CALLS" "$LIST_BUDGET"
  record list "$size" 0 "$TMP/list.$size.json"
done

# --- (c) init ---------------------------------------------------------------------------------------
say "init: 5 fresh processes, 1000 repeated calls, 3 empty databases"
for i in 1 2 3 4 5; do
  php_step "$TMP/init.first.$i.json" bench/init.php first "$ingest_db"
  record init_first 1 "$i" "$TMP/init.first.$i.json"
done
php_step "$TMP/init.repeat.json" bench/init.php repeat "$ingest_db" 1000
record init_repeat 1 0 "$TMP/init.repeat.json"
for i in 1 2 3; do
  new_db "empty$i"
  php_step "$TMP/init.empty.$i.json" bench/init.php empty "$DB"
  record init_empty 1 "$i" "$TMP/init.empty.$i.json"
done

warnings=$(grep -c . "$TMP/crmchats.log" 2>/dev/null || true)
printf '{"seconds":%d,"log_lines":%d,"log_sample":%s}\n' "$(($(date +%s) - started))" "${warnings:-0}" \
  "$(head -n 3 "$TMP/crmchats.log" 2>/dev/null | php -r 'echo json_encode(stream_get_contents(STDIN));')" >"$TMP/end.json"
record end 0 0 "$TMP/end.json"

"${PHP[@]}" bench/report.php "$RESULTS" | tee bench/last-run.txt

# --- (d) reports ------------------------------------------------------------------------------------
# reports.summary over one month of a year of dialogs, against the COUNT floor of the same month
# (examples/bench_reports.rs seeds with MariaDB's sequence engine and drops its database).
REPORT_DIALOGS=${BENCH_REPORT_DIALOGS:-1000000}
say "reports: seeding $REPORT_DIALOGS dialogs, then reports.summary over one month"
"${CARGO:-cargo}" build --release --quiet --example bench_reports
{
  echo
  echo "(d) reports.summary, one month of a year of dialogs (Rust facade, no PHP)"
  target/release/examples/bench_reports --mysql "$BENCH_MYSQL" --dialogs "$REPORT_DIALOGS"
} | tee -a bench/last-run.txt

# --- (e) send pace ----------------------------------------------------------------------------------
# One outbox pace reservation per send (channel and chat rows, one transaction), against a floor of
# a one-SELECT transaction, from 1 and 8 threads on one channel (examples/bench_pace.rs).
say "pace: reservations against the transaction floor"
"${CARGO:-cargo}" build --release --quiet --example bench_pace
{
  echo
  target/release/examples/bench_pace --mysql "$BENCH_MYSQL"
} | tee -a bench/last-run.txt
