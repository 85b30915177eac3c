#!/usr/bin/env bash
# `make demo`: a local crmchats a newcomer can open in a browser.
#   - a demo database (crmchats_demo) with SalesMan-shaped host tables and two operators,
#   - a fake Telegram on 127.0.0.1:$FAKE_PORT where you write as a Telegram user,
#   - PHP's built-in server on 127.0.0.1:$DEMO_PORT with the operator page and the webhook.
# Stop with Ctrl-C. Data stays in the database and .demo/ between runs (`make clean` + DROP to reset).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PORT=${DEMO_PORT:-8080}
FAKE_PORT=${FAKE_PORT:-8081}
DEMO_DB=${DEMO_DB:-crmchats_demo}
TOKEN=7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE
ROOT=$(pwd)
STATE=$ROOT/.demo
mkdir -p "$STATE/storage"

for port in "$DEMO_PORT" "$FAKE_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is taken; set DEMO_PORT/FAKE_PORT to free ones" >&2
    exit 1
  fi
done

mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS \`$DEMO_DB\` CHARACTER SET utf8mb4"
cat sql/host-dev/*.sql | mariadb -uroot "$DEMO_DB"

export CRMCHATS_LIB=$ROOT/target/release/libcrmchats.so
export CRMCHATS_DATABASE_URL="mysql://root@127.0.0.1:3306/$DEMO_DB"
export CRMCHATS_STORAGE_DIR=$STATE/storage
export CRMCHATS_PUBLIC_BASE_URL=http://127.0.0.1:$DEMO_PORT
export CRMCHATS_TELEGRAM_API_BASE=http://127.0.0.1:$FAKE_PORT
export CRMCHATS_LOG_FILE=$STATE/crmchats.log
export CRMCHATS_LOG_LEVEL=info
export CRMCHATS_CONFIG=none

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

target/release/fake-telegram --listen "127.0.0.1:$FAKE_PORT" --token "$TOKEN" >"$STATE/fake-telegram.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break; sleep 0.1; done

# PHP's built-in server with FFI on (Debian's default allows FFI only in the CLI or when preloaded).
PHP_CLI_SERVER_WORKERS=4 php -d ffi.enable=On -d display_errors=Off -d log_errors=On \
  -d error_log="$STATE/php.log" -S "127.0.0.1:$DEMO_PORT" -t php-bridge >"$STATE/php-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_PORT") 2>/dev/null && break; sleep 0.1; done

# Connect the fake Telegram bot once, so the newcomer can start writing at once.
php -d ffi.enable=On -r '
  require "php-bridge/Crmchats.php";
  $chats = new Crmchats(getenv("CRMCHATS_LIB"), "php-bridge/crmchats.ffi.h");
  $chats->init(require "php-bridge/config.php");
  $channels = $chats->call("channels.list", [])["channels"];
  if (!$channels) {
      $ch = $chats->call("channels.create", ["type" => "telegram", "name" => "Demo Telegram bot", "token" => $argv[1]])["channel"];
      echo "demo: Telegram channel #{$ch["id"]} created, webhook {$ch["webhook"]["state"]}\n";
  } else {
      foreach ($chats->call("channels.list", [])["channels"] as $ch) {
          $chats->call("channels.update", ["channel_id" => $ch["id"]]);
      }
      echo "demo: channels re-registered\n";
  }
' "$TOKEN"

cat <<EOF

  crmchats demo is running.

  1. Open the fake Telegram:   http://127.0.0.1:$FAKE_PORT/
     write a message as a Telegram user (text, photo or document).
  2. Open the operator page:   http://127.0.0.1:$DEMO_PORT/demo/
     pick an operator, open the dialog, reply: the reply appears in the fake Telegram.

  Logs: .demo/crmchats.log, .demo/php.log, .demo/fake-telegram.log.  Stop with Ctrl-C.

EOF
wait
