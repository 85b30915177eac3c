#!/usr/bin/env bash
# `make demo`: a local crmchats a newcomer can open in a browser.
#   - a demo database (crmchats_demo) with SalesMan-shaped host tables and two operators,
#   - a fake Telegram on 127.0.0.1:$FAKE_PORT where you write as a Telegram user,
#   - PHP's built-in server on 127.0.0.1:$DEMO_PORT with the operator console, the settings, the
#     webhook and the site widget (a demo site page embedding it),
#   - a Telegram channel and a site-chat (widget) channel; both CRM users are operators.
# Stop with Ctrl-C. Data stays in the database and .demo/ between runs (`make clean` + DROP to reset).
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO_PORT=${DEMO_PORT:-8080}
FAKE_PORT=${FAKE_PORT:-8081}
# Fake Viber, VK, Meta Graph (Facebook, WhatsApp Cloud) and Chat-API on four ports from here.
PROVIDERS_PORT=${PROVIDERS_PORT:-8082}
DEMO_DB=${DEMO_DB:-crmchats_demo}
TOKEN=7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE
ROOT=$(pwd)
STATE=$ROOT/.demo
mkdir -p "$STATE/storage"

for port in "$DEMO_PORT" "$FAKE_PORT" "$PROVIDERS_PORT" $((PROVIDERS_PORT + 1)) $((PROVIDERS_PORT + 2)) $((PROVIDERS_PORT + 3)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is taken; set DEMO_PORT/FAKE_PORT/PROVIDERS_PORT to free ones" >&2
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
# php -S runs in a process group of its own (setsid): its forked workers go with it.
cleanup() { for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

target/release/fake-telegram --listen "127.0.0.1:$FAKE_PORT" --token "$TOKEN" >"$STATE/fake-telegram.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break; sleep 0.1; done

# The other messengers' fakes: every channel type can be added from the settings page.
target/release/fake-providers --ports "$PROVIDERS_PORT" >"$STATE/fake-providers.txt" 2>"$STATE/fake-providers.log" &
pids+=($!)
for _ in $(seq 1 50); do grep -q '^chatapi=' "$STATE/fake-providers.txt" 2>/dev/null && break; sleep 0.1; done
while IFS='=' read -r type base; do
  case "$type" in
    viber|vk|facebook|whatsapp_cloud|chatapi) export "CRMCHATS_${type^^}_API_BASE=$base" ;;
  esac
done <"$STATE/fake-providers.txt"

# PHP's built-in server with FFI on (Debian's default allows FFI only in the CLI or when preloaded).
# Eight workers: each open console and widget holds one in a long poll (at most 25 s).
PHP_CLI_SERVER_WORKERS=8 setsid php -d ffi.enable=On -d post_max_size=64M -d upload_max_filesize=32M -d display_errors=Off -d log_errors=On \
  -d error_log="$STATE/php.log" -S "127.0.0.1:$DEMO_PORT" -t php-bridge >"$STATE/php-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$DEMO_PORT") 2>/dev/null && break; sleep 0.1; done

# Connect the fake Telegram bot and a site chat once and make both CRM users operators, so the
# newcomer can start writing at once; later runs re-register the webhooks.
WIDGET_CHANNEL=$(php -d ffi.enable=On -r '
  require "php-bridge/Crmchats.php";
  $chats = new Crmchats(getenv("CRMCHATS_LIB"), "php-bridge/crmchats.ffi.h");
  $chats->init(require "php-bridge/config.php");
  $channels = array_values(array_filter($chats->call("channels.list", [])["channels"], fn ($c) => $c["active"]));
  $widget = null;
  $telegram = false;
  foreach ($channels as $ch) {
      if ($ch["type"] === "widget") {
          $widget = $ch;
      } else {
          $telegram = $telegram || $ch["type"] === "telegram";
          $chats->call("channels.update", ["channel_id" => $ch["id"]]);
      }
  }
  if (!$telegram) {
      $ch = $chats->call("channels.create", ["type" => "telegram", "name" => "Demo Telegram bot", "token" => $argv[1]])["channel"];
      fwrite(STDERR, "demo: Telegram channel #{$ch["id"]} created, webhook {$ch["webhook"]["state"]}\n");
  }
  if ($widget === null) {
      $widget = $chats->call("channels.create", ["type" => "widget", "name" => "Сайт", "settings" => ["title" => "Чат с компанией"]])["channel"];
      fwrite(STDERR, "demo: site chat channel #{$widget["id"]} created\n");
  }
  $chats->call("operators.add", ["operator_id" => 1, "user_ids" => [1, 2]]);
  echo $widget["id"];
' "$TOKEN")

cat <<EOF

  crmchats demo is running.

  Operator console:  http://127.0.0.1:$DEMO_PORT/console/
     sign in as a CRM user (Анна Админова is an admin and sees Settings; Пётр Менеджеров is an
     operator), set yourself online, answer. A second browser plays a second operator.
  Site with the chat widget:  http://127.0.0.1:$DEMO_PORT/demo/site.html?channel=$WIDGET_CHANNEL
     write as a visitor (text or a file): the console shows it at once, the answer comes back.
  Fake Telegram:  http://127.0.0.1:$FAKE_PORT/
     write as a Telegram user. (The first minimal operator page is still at /demo/.)

  Other messengers: fake Viber, VK, Facebook/WhatsApp Cloud and Chat-API run on ports
  $PROVIDERS_PORT-$((PROVIDERS_PORT + 3)); add a channel of any type in Settings with these credentials:
$(grep '^#' "$STATE/fake-providers.txt" | sed 's/^#/   /')

  Logs: .demo/crmchats.log, .demo/php.log, .demo/fake-telegram.log.  Stop with Ctrl-C.

EOF
wait
wait
