<?php
/**
 * Preloading crmchats for PHP-FPM when ffi.enable=preload (Debian's default).
 *
 * With ffi.enable=preload, PHP lets only preloaded code use FFI. Two ini settings do it together:
 *   ffi.preload     = <a copy of crmchats.ffi.h whose FFI_LIB is an absolute path>   (declares scope CRMCHATS)
 *   opcache.preload = this file                                   (preloads the Crmchats class that calls FFI)
 *
 * 1. As the admin, once (and after every update of the library):
 *        php /path/to/php-bridge/preload.php --write-header [OUTPUT.h]
 *    writes lib/crmchats.preload.h (or OUTPUT.h) with FFI_LIB set to the library's absolute path
 *    (env CRMCHATS_LIB, else lib/libcrmchats.so, else ../target/release/libcrmchats.so) and prints the
 *    php.ini lines to add.
 * 2. php.ini of the FPM SAPI: those lines; restart PHP-FPM.
 *
 * When PHP-FPM's master does not run as root (no opcache.preload_user needed), ffi.preload may be left out:
 * this file then loads the header itself with FFI::load() through a temporary copy with an absolute FFI_LIB.
 * PHP refuses FFI::load() during preloading as soon as opcache.preload_user is set, hence ffi.preload.
 */

declare(strict_types=1);

require_once __DIR__ . '/Crmchats.php';

/** The generated header with FFI_LIB replaced by an absolute library path. */
function crmchats_preload_header(string $headerPath, string $libraryPath): string
{
    $header = file_get_contents($headerPath);
    if ($header === false) {
        throw new RuntimeException("cannot read $headerPath");
    }
    $library = realpath($libraryPath);
    if ($library === false) {
        throw new RuntimeException("libcrmchats.so not found at $libraryPath (set CRMCHATS_LIB)");
    }
    $define = '#define FFI_LIB "' . addcslashes($library, "\"\\") . '"';
    $count = 0;
    $header = preg_replace('/^#define\s+FFI_LIB\s.*$/m', $define, $header, 1, $count) ?? $header;
    if ($count === 0) {
        $header = $define . "\n" . $header;
    }
    if (!preg_match('/^#define\s+FFI_SCOPE\s/m', $header)) {
        $header = '#define FFI_SCOPE "' . Crmchats::SCOPE . "\"\n" . $header;
    }
    return $header;
}

if (PHP_SAPI === 'cli' && realpath($_SERVER['SCRIPT_FILENAME'] ?? '') === __FILE__) {
    // Command line: write the header for ffi.preload and show the ini lines.
    $args = array_slice($argv, 1);
    if (($args[0] ?? '') !== '--write-header') {
        fwrite(STDERR, "usage: php preload.php --write-header [OUTPUT.h]\n");
        exit(2);
    }
    $output = $args[1] ?? __DIR__ . '/lib/crmchats.preload.h';
    try {
        $header = crmchats_preload_header(Crmchats::defaultHeaderPath(), Crmchats::defaultLibraryPath());
    } catch (RuntimeException $e) {
        fwrite(STDERR, $e->getMessage() . "\n");
        exit(1);
    }
    if (!is_dir(dirname($output))) {
        mkdir(dirname($output), 0755, true);
    }
    file_put_contents($output, $header);
    $output = realpath($output);
    echo "wrote $output\n\nAdd to the php.ini of PHP-FPM (e.g. /etc/php/" . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION
        . "/fpm/conf.d/90-crmchats.ini), then restart PHP-FPM:\n\n"
        . "ffi.enable = preload\n"
        . "ffi.preload = $output\n"
        . "opcache.enable = 1\n"
        . 'opcache.preload = ' . __FILE__ . "\n"
        . "opcache.preload_user = www-data\n";
    exit(0);
}

// Preloading (opcache.preload): the Crmchats class above is now preloaded, so its FFI calls are allowed.
// Without ffi.preload, load the scope here (possible only without opcache.preload_user, see above).
try {
    FFI::scope(Crmchats::SCOPE);
} catch (Throwable) {
    try {
        $header = crmchats_preload_header(Crmchats::defaultHeaderPath(), Crmchats::defaultLibraryPath());
        $temp = sys_get_temp_dir() . '/crmchats-preload-' . hash('sha256', $header) . '.h';
        if (!is_file($temp)) {
            file_put_contents($temp, $header, LOCK_EX);
        }
        FFI::load($temp);
    } catch (Throwable $e) {
        // A warning, not a fatal error: PHP-FPM must still start; Crmchats then tells what to configure.
        trigger_error('crmchats preload: ' . $e->getMessage() . ' (set ffi.preload, see ' . __DIR__ . '/README.md)', E_USER_WARNING);
    }
}
