<?php
/**
 * Counts the database round trips of single library calls, through the bench_sqlcount proxy
 * (examples/bench_sqlcount.rs logs every command the library's connections send: pings, prepares,
 * executes, queries). Runs against the ingest database after the timed runs.
 *
 * usage: php sqlcount.php <database> <channel_id> <proxy_server_url> <proxy_log>
 * prints {"ops":[{"op","calls","round_trips_per_call","by_command":{...},"statements":[...]}]}
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $db, $channelId, $proxyUrl, $logPath] = $argv;
$channelId = (int)$channelId;

$offset = 0;
/** The proxy's lines since the previous call: list of [conn, command, sql]. */
$take = static function () use ($logPath, &$offset): array {
    clearstatcache();
    $text = (string)file_get_contents($logPath, false, null, $offset);
    $offset += strlen($text);
    $lines = [];
    foreach (explode("\n", $text) as $line) {
        if ($line !== '') {
            $lines[] = explode("\t", $line, 3) + [1 => '', 2 => ''];
        }
    }
    return $lines;
};

/** A statement for display: table names kept, long column lists cut. */
$short = static function (string $command, string $sql): string {
    if ($sql === '') {
        return $command;
    }
    $sql = preg_replace('/`app_crmchats_(\w+)`/', '$1', $sql) ?? $sql;
    $sql = preg_replace('/^(SELECT|INSERT INTO \S+) .{40,}? (FROM|VALUES|SELECT) /', '$1 … $2 ', $sql) ?? $sql;
    if (strlen($sql) > 96) {
        $sql = substr($sql, 0, 93) . '...';
    }
    return "$command: $sql";
};

$ops = [];
/** Records $calls runs of $fn as one op. */
$measure = static function (string $name, int $calls, callable $fn) use ($take, $short, &$ops): void {
    $take();
    for ($i = 0; $i < $calls; $i++) {
        $fn($i);
    }
    $lines = $take();
    $byCommand = [];
    $roundTrips = 0;
    foreach ($lines as [, $command]) {
        $byCommand[$command] = ($byCommand[$command] ?? 0) + 1;
        // CloseStmt and Quit get no answer from the server: no round trip.
        if ($command !== 'CloseStmt' && $command !== 'Quit') {
            $roundTrips++;
        }
    }
    $perCall = count($lines) / max(1, $calls);
    $sqls = array_values(array_unique(array_map(static fn (array $l): string => $l[2], $lines)));
    $statements = array_map(
        static fn (array $l): string => $short($l[1], $l[2]),
        array_slice($lines, 0, (int)ceil($perCall)),
    );
    $ops[] = [
        'op' => $name,
        'calls' => $calls,
        'round_trips_per_call' => $roundTrips / max(1, $calls),
        'by_command' => array_map(static fn (int $c): float => $c / max(1, $calls), $byCommand),
        'statements' => $statements,
        'sql' => $sqls,
    ];
};

$lib = bench_lib();
// Without prefer_socket=false the mysql crate would leave the proxy for the server's unix socket.
$config = bench_config($db, $proxyUrl, '?prefer_socket=false');
$measure('init (first in process, migrated db)', 1, static fn () => $lib->init($config));
$measure('init (repeated, same config)', 100, static fn () => $lib->init($config));

// Ids of their own (a rerun on the same database must not look like a redelivery).
$base = 90_000_000 + (time() % 100_000) * 100;
$webhook = static function (int $visitor, int $i) use ($lib, $channelId, $base): void {
    $body = bench_update(583_000_000 + $base + $i, $base + $i + 1, $visitor, time());
    $response = $lib->handleWebhook(bench_webhook_request($channelId, strlen($body)), $body);
    if (($response['status'] ?? 0) !== 200) {
        fwrite(STDERR, 'bench: webhook answered ' . json_encode($response) . "\n");
        exit(1);
    }
};
$measure('handle_webhook (new visitor)', 1, static fn () => $webhook(5000 + time() % 100_000, 0));
$measure('handle_webhook (known visitor)', 20, static fn (int $i) => $webhook($i % BENCH_VISITORS, 10 + $i));
$redelivery = bench_update(583_000_000 + $base + 10, $base + 11, 0, time());
$measure('handle_webhook (redelivery)', 1, static function () use ($lib, $channelId, $redelivery): void {
    $lib->handleWebhook(bench_webhook_request($channelId, strlen($redelivery)), $redelivery);
});
$page = [];
$measure('list_dialogs (page 1, limit 50)', 5, static function () use ($lib, &$page): void {
    $page = $lib->listDialogs(['operator_id' => 1, 'status' => 'open', 'limit' => 50]);
});

// Is list.php's copy of the list_dialogs SQL (for EXPLAIN) still what the library sends?
[$copy] = bench_list_dialogs_sql(['operator_id' => 1, 'status' => 'open', 'limit' => 50]);
$copy = preg_replace('/\s+/', ' ', $copy);
$sent = '';
foreach ($ops as &$op) {
    if (str_starts_with($op['op'], 'list_dialogs')) {
        foreach ($op['sql'] as $sql) {
            if (str_contains($sql, 'crmchats_dialogs` d')) {
                $sent = $sql;
            }
        }
    }
    unset($op['sql']);
}
unset($op);
bench_emit(['ops' => $ops, 'list_sql_copy_current' => $sent === $copy, 'list_sql_sent' => $sent]);
