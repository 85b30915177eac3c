<?php
/**
 * Seeds the list_dialogs database in bulk with SQL (seed_dialogs.sql, MariaDB's SEQUENCE engine).
 * The first call (from = 1) also creates the host CRM tables, runs the library's migrations through
 * init, and adds the channels (seed_channels.sql).
 *
 * usage: php seed.php <database> <from> <to>     prints {"dialogs","messages","seconds"}
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $db, $from, $to] = $argv;
$from = (int)$from;
$to = (int)$to;
$pdo = bench_pdo($db);
$t = bench_now();
if ($from === 1) {
    foreach (['001_salesman.sql', '002_demo_users.sql'] as $file) {
        bench_run_sql_file($pdo, __DIR__ . '/../sql/host-dev/' . $file);
    }
    bench_lib()->init(bench_config($db));
    bench_run_sql_file($pdo, __DIR__ . '/seed_channels.sql');
}
$pdo->exec('SET @now = UTC_TIMESTAMP(3)');
$hasLastMessageId = (int)$pdo->query(
    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
    . "AND TABLE_NAME = 'app_crmchats_dialogs' AND COLUMN_NAME = 'last_message_id'",
)->fetchColumn() > 0;
bench_run_sql_file($pdo, __DIR__ . '/seed_dialogs.sql', [
    '{from}' => (string)$from,
    '{to}' => (string)$to,
    '{last_message_id_column}' => $hasLastMessageId ? '`last_message_id`,' : '',
    '{last_message_id_value}' => $hasLastMessageId ? 'm.id,' : '',
]);
foreach (['visitors', 'dialogs', 'messages', 'dialog_operators', 'dialog_reads', 'events'] as $table) {
    $pdo->query("ANALYZE TABLE app_crmchats_$table")->fetchAll();
}
$count = static fn (string $sql): int => (int)$pdo->query($sql)->fetchColumn();
bench_emit([
    'dialogs' => $count('SELECT COUNT(*) FROM app_crmchats_dialogs'),
    'open' => $count("SELECT COUNT(*) FROM app_crmchats_dialogs WHERE status = 'open'"),
    'messages' => $count('SELECT COUNT(*) FROM app_crmchats_messages'),
    'seconds' => bench_now() - $t,
]);
