<?php
/**
 * One PHP process of the raw-DB floor: PDO over TCP 127.0.0.1 (like the library), one prepared
 * single-row INSERT per message in autocommit, into a copy of the messages table (same columns,
 * same unique key and indexes), with the values an inbound Telegram message gets.
 *
 * usage: php floor_worker.php <database> <channel_id> <worker> <n> <phase> [barrier_dir]
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[$db, $channelId, $worker, $n, $phase, $barrier] = bench_worker_args($argv);

$pdo = bench_pdo($db);
$insert = $pdo->prepare(
    'INSERT INTO bench_floor_messages (identity, channel_id, dialog_id, direction, author_type, text, external_id, '
    . "status, created_at) VALUES (?, ?, ?, 'in', 'visitor', ?, ?, 'received', ?)",
);

$base = $phase * 10_000_000 + $worker * 1_000_000;
$date = time() - 3600;
$rows = [];
for ($i = 0; $i < $n; $i++) {
    $visitor = ($i + $worker * 13) % BENCH_VISITORS;
    $chatId = bench_visitor($visitor)[0];
    $messageId = $base + $i + 1;
    $rows[] = [1, $channelId, $visitor + 1, bench_text($messageId), "$chatId:$messageId",
        gmdate('Y-m-d H:i:s', $date + intdiv($i, 10)) . '.000'];
}

if ($barrier !== null) {
    bench_barrier($barrier, $worker);
}
$latencies = [];
$start = bench_wall();
foreach ($rows as $row) {
    $t = hrtime(true);
    $insert->execute($row);
    $latencies[] = (hrtime(true) - $t) / 1e9;
}
$end = bench_wall();

bench_emit([
    'worker' => $worker,
    'n' => $n,
    'start' => $start,
    'end' => $end,
    'seconds' => $end - $start,
    'latency' => bench_latency($latencies),
    'errors' => [],
    'error_count' => 0,
]);
