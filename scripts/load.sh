#!/usr/bin/env bash
# `make load`: webhooks of every channel type at a steady rate through PHP FFI, an operator polling
# and replying, for LOAD_SECONDS (default 20) with LOAD_WORKERS processes (default 4) at LOAD_RATE
# messages per second each (default 25). Loopback only: fake messengers, a scratch database that is
# dropped at the end. Prints rates, p50/p99 per type, RSS per worker, and the exactly-once check.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_=${LOAD_SECONDS:-20}
WORKERS=${LOAD_WORKERS:-4}
RATE=${LOAD_RATE:-25}
DB=crmchats_load_$$
TMP=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  mariadb -uroot -e "DROP DATABASE IF EXISTS \`$DB\`" || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TG_PORT=$(free_port)
PROVIDERS_PORT=$(( ($(free_port) % 20000) + 30000 ))

mariadb -uroot -e "CREATE DATABASE \`$DB\` CHARACTER SET utf8mb4"
cat sql/host-dev/*.sql | mariadb -uroot "$DB"

target/release/fake-telegram --listen "127.0.0.1:$TG_PORT" --token 7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE >"$TMP/tg.log" 2>&1 &
pids+=($!)
target/release/fake-providers --ports "$PROVIDERS_PORT" >"$TMP/providers.txt" 2>"$TMP/providers.log" &
pids+=($!)
for _ in $(seq 1 50); do grep -q '^chatapi=' "$TMP/providers.txt" 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$TG_PORT") 2>/dev/null && break; sleep 0.1; done

export CRMCHATS_LIB=$ROOT/target/release/libcrmchats.so
export CRMCHATS_HEADER=$ROOT/php-bridge/crmchats.ffi.h
export LOAD_DB_URL="mysql://root@127.0.0.1:3306/$DB"
export LOAD_STORAGE=$TMP/storage
export LOAD_TG_API=http://127.0.0.1:$TG_PORT
export LOAD_PROVIDERS=$TMP/providers.txt
mkdir -p "$LOAD_STORAGE"
php -d ffi.enable=1 bench/load.php run "$SECONDS_" "$WORKERS" "$RATE"
