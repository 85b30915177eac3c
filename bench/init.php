<?php
/**
 * init cost, in microseconds.
 *   first <db>        a fresh process: loading the library (new Crmchats: FFI::cdef + dlopen), then the
 *                     first init (pool + connection, session setup, migration check); before both, the
 *                     floor: a PDO connection (same socket) + SET time_zone + the same version query
 *   repeat <db> <n>   after the first init, n more with the same configuration (what PHP-FPM does on
 *                     every request of a worker)
 *   empty <db>        a fresh process, first init on an empty database: migrations applied
 *
 * usage: php init.php first|repeat|empty <database> [n]
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $mode, $db] = $argv;
$n = (int)($argv[3] ?? 1000);

$config = bench_config($db);
$floorUs = null;
if ($mode === 'first') {
    $t = hrtime(true);
    $pdo = bench_pdo($db);
    $pdo->query('SELECT MAX(`version`) FROM `app_crmchats_schema_versions`')->fetchAll();
    $floorUs = (hrtime(true) - $t) / 1e3;
    $pdo = null;
}
$t = hrtime(true);
$lib = bench_lib();
$loadUs = (hrtime(true) - $t) / 1e3;
$t = hrtime(true);
$result = $lib->init($config);
$firstUs = (hrtime(true) - $t) / 1e3;
if (($result['reused'] ?? null) !== false) {
    fwrite(STDERR, 'bench: the first init did not open a new instance: ' . json_encode($result) . "\n");
    exit(1);
}

$out = ['mode' => $mode, 'load_us' => $loadUs, 'first_init_us' => $firstUs, 'pdo_floor_us' => $floorUs];
if ($mode === 'repeat') {
    $latencies = [];
    for ($i = 0; $i < $n; $i++) {
        $t = hrtime(true);
        $result = $lib->init($config);
        $latencies[] = (hrtime(true) - $t) / 1e9;
    }
    if (($result['reused'] ?? null) !== true) {
        fwrite(STDERR, "bench: a repeated init did not reuse the instance\n");
        exit(1);
    }
    $out['repeat'] = bench_latency($latencies);
}
if ($mode === 'empty') {
    $tables = (int)bench_pdo($db)->query(
        'SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ' . bench_pdo()->quote($db),
    )->fetchColumn();
    $out['tables_created'] = $tables;
}
bench_emit($out);
