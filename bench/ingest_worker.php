<?php
/**
 * One PHP process of the ingest run: Crmchats::init, then N handleWebhook calls with distinct
 * Telegram private-text updates (distinct update_id and message_id) spread over the bench visitors.
 *
 * usage: php ingest_worker.php <database> <channel_id> <worker> <n> <phase> [barrier_dir]
 *   phase: a number keeping update/message ids of separate runs apart; barrier_dir: see bench_barrier().
 * Worker 0 with n = 50 on a fresh database is the warm-up: every message comes from a new visitor
 * (visitor and dialog created, name/avatar looked up at the fake Telegram).
 * prints {"worker","n","start","end","seconds","latency":{...},"errors":[...]}
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[$db, $channelId, $worker, $n, $phase, $barrier] = bench_worker_args($argv);

$lib = bench_lib();
$lib->init(bench_config($db));

// Bodies are built before the clock starts: the bench measures the library, not json_encode.
$base = $phase * 10_000_000 + $worker * 1_000_000;
$date = time() - 3600;
$calls = [];
for ($i = 0; $i < $n; $i++) {
    // Workers start at different visitors, so concurrent processes rarely write the same dialog.
    $visitor = ($i + $worker * 13) % BENCH_VISITORS;
    $body = bench_update(583_000_000 + $base + $i, $base + $i + 1, $visitor, $date + intdiv($i, 10));
    $calls[] = [bench_webhook_request($channelId, strlen($body)), $body];
}

if ($barrier !== null) {
    bench_barrier($barrier, $worker);
}
$errors = [];
$latencies = [];
$start = bench_wall();
foreach ($calls as [$request, $body]) {
    $t = hrtime(true);
    $response = $lib->handleWebhook($request, $body);
    $latencies[] = (hrtime(true) - $t) / 1e9;
    if (($response['status'] ?? 0) !== 200) {
        $errors[] = ($response['status'] ?? '?') . ' ' . ($response['body'] ?? '');
    }
}
$end = bench_wall();

bench_emit([
    'worker' => $worker,
    'n' => $n,
    'start' => $start,
    'end' => $end,
    'seconds' => $end - $start,
    'latency' => bench_latency($latencies),
    'errors' => array_slice(array_values(array_unique($errors)), 0, 5),
    'error_count' => count($errors),
]);
