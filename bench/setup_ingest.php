<?php
/**
 * Prepares the ingest database: host CRM tables (sql/host-dev), the library's migrations (init),
 * a Telegram channel created through channels.create against the fake Telegram (getMe, setWebhook)
 * with a known webhook_secret, and the floor table: same columns and indexes as the messages table.
 *
 * usage: php setup_ingest.php <database>     prints {"channel_id":N}
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

$db = $argv[1] ?? '';
$pdo = bench_pdo($db);
foreach (['001_salesman.sql', '002_demo_users.sql'] as $file) {
    bench_run_sql_file($pdo, __DIR__ . '/../sql/host-dev/' . $file);
}

$lib = bench_lib();
$lib->init(bench_config($db));
$created = $lib->call('channels.create', [
    'type' => 'telegram',
    'name' => 'Поддержка (bench)',
    'token' => bench_env('BENCH_TG_TOKEN'),
    'settings' => ['webhook_secret' => BENCH_SECRET],
]);
$channel = $created['channel'];
if (($channel['webhook']['state'] ?? '') !== 'registered') {
    fwrite(STDERR, 'bench: the channel webhook was not registered: ' . json_encode($channel['webhook']) . "\n");
    exit(1);
}

// The floor: a plain copy of the messages table (columns, unique key, indexes), nothing else.
$pdo->exec('CREATE TABLE bench_floor_messages LIKE app_crmchats_messages');

bench_emit(['channel_id' => (int)$channel['id']]);
