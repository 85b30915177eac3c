<?php
/**
 * The unit cost behind the round-trip counts: one prepared `SELECT 1` through PDO on the same socket,
 * and one empty transaction commit after a single-row write (the fsync a webhook's commit pays).
 *
 * usage: php rtt.php <database> <n>
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $db, $n] = $argv;
$n = (int)$n;
$pdo = bench_pdo($db);
$select = $pdo->prepare('SELECT 1');
for ($i = 0; $i < 50; $i++) {
    $select->execute();
    $select->fetchAll();
}
$latencies = [];
for ($i = 0; $i < $n; $i++) {
    $t = hrtime(true);
    $select->execute();
    $select->fetchAll();
    $latencies[] = (hrtime(true) - $t) / 1e9;
}
bench_emit(['select1' => bench_latency($latencies)]);
