#!/usr/bin/env bash
# Installs what crmchats needs on a fresh Debian machine and makes sure MariaDB runs.
# Idempotent: does nothing that is already done. Used by `make test`, `make demo`, `make bench`.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

say() { echo "setup: $*"; }

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PHP CLI with FFI and MySQL, and PHPUnit (Debian's packages).
need=()
command -v php >/dev/null 2>&1 || need+=(php-cli)
if command -v php >/dev/null 2>&1; then
  # Read the module list once: `php -m | grep -q` can die of SIGPIPE under pipefail.
  modules=$(php -m 2>/dev/null || true)
  grep -qix 'ffi' <<<"$modules" || need+=(php-cli)
  grep -qix 'pdo_mysql' <<<"$modules" || need+=(php-mysql)
else
  need+=(php-mysql)
fi
command -v phpunit >/dev/null 2>&1 || need+=(phpunit)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The browser suite (tests/browser.rs): Debian's chromium, driven by playwright-core from npm.
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then apt_install "${need[@]}"; fi

# playwright-core as pinned in tests/browser/package-lock.json; it never downloads a browser itself
# (the tests give it /usr/bin/chromium). Reinstalled only when the lock file changed.
browser_dir="$(dirname "$0")/../tests/browser"
if [ ! -f "$browser_dir/node_modules/.package-lock.json" ] \
   || [ "$browser_dir/package-lock.json" -nt "$browser_dir/node_modules/.package-lock.json" ]; then
  say "npm ci (tests/browser)"
  (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# MariaDB: the machine usually runs one; start it (or install it) when it does not.
db_up() { mariadb -uroot -e 'SELECT 1' >/dev/null 2>&1 || mysql -uroot -e 'SELECT 1' >/dev/null 2>&1; }
if ! db_up; then
  if [ ! -x /usr/sbin/mariadbd ]; then apt_install mariadb-server mariadb-client; fi
  say "starting MariaDB"
  $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  $SUDO start-stop-daemon --start --oknodo --background --chuid mysql --exec /usr/sbin/mariadbd -- --user=mysql \
    || $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do db_up && break; sleep 0.5; done
  db_up || { echo "setup: MariaDB did not start" >&2; exit 1; }
fi
say "ok (php $(php -r 'echo PHP_VERSION;'), $(mariadb --version 2>/dev/null | awk '{print $5}' | tr -d ,))"
