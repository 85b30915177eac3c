#!/usr/bin/env bash
# Builds dist/crmchats-<version>.zip: the SalesMan plugin folder `crmchats/` (plugin.json, main file,
# uninstall.php, host.php, the plugin's pages and assets), the PHP bridge with its console, settings
# and widget pages, the release libcrmchats.so (linux x86_64) and its headers. Unpack it under the
# CRM's plugins/ and press Activate.
#
# Environment:
#   CRMCHATS_LIB         use this libcrmchats.so instead of building the release one (tests: the debug build)
#   CRMCHATS_DIST        output folder (default: dist/)
#   CRMCHATS_ZIP_LEVEL   compression level 0-9 (default 9)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || { echo "package: no version in Cargo.toml" >&2; exit 1; }
dist=${CRMCHATS_DIST:-$repo/dist}
level=${CRMCHATS_ZIP_LEVEL:-9}

lib=${CRMCHATS_LIB:-}
if [ -z "$lib" ]; then
  ${CARGO:-cargo} build --release --lib
  lib=target/release/libcrmchats.so
fi
[ -f "$lib" ] || { echo "package: $lib not found" >&2; exit 1; }
if command -v file >/dev/null 2>&1 && ! file -L "$lib" | grep -q 'ELF 64-bit.*x86-64'; then
  echo "package: $lib is not a linux x86_64 library: $(file -L "$lib")" >&2
  exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/crmchats
mkdir -p "$root"

# The plugin skeleton; plugin.json carries Cargo.toml's version.
cp -R plugin/. "$root/"
mv "$root/README.md" "$root/readme.md"          # the CRM's plugin manager shows readme.md
php -r '
  $file = $argv[1];
  $about = json_decode(file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
  $about["version"] = $argv[2];
  file_put_contents($file, json_encode($about, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");
' "$root/plugin.json" "$version"

# The PHP bridge as it is in the tree, without the development-only demo page (it has no sign-in)
# and without local files of this machine.
mkdir -p "$root/php-bridge"
tar -C php-bridge --exclude='./demo' --exclude='./config.local.php' --exclude='./lib/crmchats.preload.h' \
  --exclude='*.log' --exclude='./.gitignore' -cf - . | tar -C "$root/php-bridge" -xf -
cp "$lib" "$root/php-bridge/lib/libcrmchats.so"
mkdir -p "$root/include"
cp include/crmchats.h "$root/include/"
# Inside the CRM the library's configuration comes from the CRM's own settings.
cat > "$root/php-bridge/config.local.php" <<'PHP'
<?php
// Written by scripts/package.sh: in the CRM, the library's configuration comes from the CRM's own
// settings (../CrmchatsPlugin.php); add your own keys to <CRM>/files/crmchats/config.php.
require_once dirname(__DIR__) . '/CrmchatsPlugin.php';
return CrmchatsPlugin::config();
PHP
# php-bridge's pages for operators learn the signed-in CRM user from the CRM's own entry files.
cat > "$root/php-bridge/lib/host-session.php" <<'PHP'
<?php
// Written by scripts/package.sh. Required at global scope by php-bridge's pages for operators when
// present: brings in the CRM's settings and signed-in user ($iduser1) as the CRM's own pages do.
require_once dirname(__DIR__, 2) . '/bootstrap.php';
PHP
# The web server must not serve the library or the state of the plugin.
printf '<IfModule mod_authz_core.c>\n  Require all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n  Deny from all\n</IfModule>\n' > "$root/php-bridge/lib/.htaccess"

mkdir -p "$dist"
zipfile="$dist/crmchats-$version.zip"
rm -f "$zipfile"
if command -v zip >/dev/null 2>&1; then
  (cd "$stage" && zip -q -r -"$level" "$zipfile" crmchats)
else
  (cd "$stage" && python3 -m zipfile -c "$zipfile" crmchats)
fi
echo "$zipfile"
