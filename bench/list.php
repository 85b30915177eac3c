<?php
/**
 * list_dialogs latency through PHP FFI (Crmchats::listDialogs, JSON encode/decode included, as the
 * operator console calls it) on the seeded database, for operator 1 (admin), open dialogs, 50 a page:
 *   page1         no cursor
 *   page2         the cursor page 1 returned
 *   search_name   `search` that matches ~1 visitor in 10 (a surname)
 *   search_rare   `search` that matches almost nothing (the worst case: every open dialog is examined)
 * Each variant is also run once with ANALYZE (MariaDB's EXPLAIN with measured rows and times) using the
 * SQL of src/store/conversations.rs list_dialogs, so a slow variant shows its plan.
 *
 * A variant stops early once it has used its time budget (at least 10 timed calls), so a slow query
 * cannot stretch the run; the table shows how many calls were timed.
 *
 * usage: php list.php <database> <calls> [budget_seconds_per_variant]
 */

declare(strict_types=1);

require __DIR__ . '/lib.php';

[, $db, $calls] = $argv;
$calls = (int)$calls;
$budget = (float)($argv[3] ?? 10);

$lib = bench_lib();
$lib->init(bench_config($db));
$first = $lib->listDialogs(['operator_id' => 1, 'status' => 'open', 'limit' => 50]);
$cursor = $first['next_cursor'] ?? null;
if (count($first['dialogs'] ?? []) !== 50 || !is_string($cursor)) {
    fwrite(STDERR, "bench: page 1 did not return 50 dialogs and a cursor\n");
    exit(1);
}

$variants = [
    'page1' => ['operator_id' => 1, 'status' => 'open', 'limit' => 50],
    'page2' => ['operator_id' => 1, 'status' => 'open', 'limit' => 50, 'cursor' => $cursor],
    'search_name' => ['operator_id' => 1, 'status' => 'open', 'limit' => 50, 'search' => 'Смирн'],
    'search_rare' => ['operator_id' => 1, 'status' => 'open', 'limit' => 50, 'search' => 'заявки 4821'],
];

$results = [];
foreach ($variants as $name => $request) {
    for ($i = 0; $i < 3; $i++) {               // warm-up: prepared statements, buffer pool
        $lib->listDialogs($request);
    }
    $latencies = [];
    $rows = 0;
    $deadline = bench_now() + $budget;
    for ($i = 0; $i < $calls && ($i < 10 || bench_now() < $deadline); $i++) {
        $t = hrtime(true);
        $page = $lib->listDialogs($request);
        $latencies[] = (hrtime(true) - $t) / 1e9;
        $rows = count($page['dialogs']);
    }
    $results[$name] = bench_latency($latencies) + [
        'rows' => $rows,
        'explain' => explain($db, $request),
        // What the same query does when MariaDB may not use a join buffer (a diagnosis aid only).
        'explain_no_join_buffer' => explain($db, $request, 'SET SESSION join_cache_level = 0'),
    ];
}
bench_emit(['variants' => $results]);

/**
 * ANALYZE of the query list_dialogs runs (bench_list_dialogs_sql: a copy of the library's SQL, checked
 * against what the library really sends by sqlcount.php), as text rows.
 *
 * @return list<string>
 */
function explain(string $db, array $request, ?string $sessionSetting = null): array
{
    [$sql, $params] = bench_list_dialogs_sql($request);
    $pdo = bench_pdo($db);
    if ($sessionSetting !== null) {
        $pdo->exec($sessionSetting);
    }
    $statement = $pdo->prepare('ANALYZE ' . $sql);
    $statement->execute($params);
    $lines = [];
    foreach ($statement->fetchAll() as $row) {
        $lines[] = sprintf(
            '%-6s %-3s %-7s key=%-15s rows=%-7s r_rows=%-8s %s',
            $row['table'],
            $row['id'],
            $row['type'],
            $row['key'] ?? 'NULL',
            $row['rows'] ?? '',
            $row['r_rows'] ?? '',
            $row['Extra'] ?? '',
        );
    }
    return $lines;
}
