<?php
/**
 * Prints the table of a bench run from the result lines scripts/bench.sh collected
 * ({"kind","procs","round","data"} per line).
 *
 * usage: php report.php <results.jsonl>
 */

declare(strict_types=1);

const LIST_TARGET_P99_MS = 5.0;
const INGEST_TARGET_RATIO = 0.8;

$rows = [];
foreach (file($argv[1], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [] as $line) {
    $rows[] = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
}
$of = static fn (string $kind): array => array_values(array_filter($rows, static fn (array $r): bool => $r['kind'] === $kind));
$one = static fn (string $kind): array => ($of($kind)[0]['data'] ?? []);

$median = static function (array $values): float {
    sort($values);
    $n = count($values);
    return $n === 0 ? NAN : ($n % 2 ? $values[intdiv($n, 2)] : ($values[$n / 2 - 1] + $values[$n / 2]) / 2);
};
$f = static fn (float $v, int $decimals = 2): string => is_nan($v) ? '-' : number_format($v, $decimals, '.', '');
$table = static function (array $header, array $lines): string {
    $widths = array_map('mb_strwidth_safe', $header);
    foreach ($lines as $line) {
        foreach (array_values($line) as $i => $cell) {
            $widths[$i] = max($widths[$i] ?? 0, mb_strwidth_safe((string)$cell));
        }
    }
    $render = static function (array $cells) use ($widths): string {
        $out = [];
        foreach (array_values($cells) as $i => $cell) {
            $cell = (string)$cell;
            $pad = $widths[$i] - mb_strwidth_safe($cell);
            $out[] = $i === 0 ? $cell . str_repeat(' ', $pad) : str_repeat(' ', $pad) . $cell;
        }
        return '  ' . implode('  ', $out);
    };
    $text = $render($header) . "\n" . '  ' . str_repeat('-', array_sum($widths) + 2 * (count($widths) - 1)) . "\n";
    foreach ($lines as $line) {
        $text .= $render($line) . "\n";
    }
    return $text;
};

$meta = $one('meta');
$out = sprintf(
    "crmchats bench — %s — libcrmchats %s (git %s), PHP %s, MariaDB %s, %d CPUs\n"
        . "innodb_flush_log_at_trx_commit=%s, buffer pool %d MB; library and floor both on %s\n"
        . "BENCH_N=%d per process, BENCH_ROUNDS=%d (best round shown), list: up to %d calls or %ss per variant\n",
    $meta['date'] ?? '?',
    $meta['lib_version'] ?? '?',
    $meta['git'] ?? '?',
    $meta['php'] ?? '?',
    $meta['mariadb'] ?? '?',
    $meta['cpus'] ?? 0,
    $meta['flush_log_at_trx_commit'] ?? '?',
    $meta['buffer_pool_mb'] ?? 0,
    'unix socket ' . ($meta['socket'] ?? '?'),
    $meta['n'] ?? 0,
    $meta['rounds'] ?? 0,
    $meta['list_calls'] ?? 0,
    $meta['list_budget'] ?? '?',
);

// --- (a) ingest ---------------------------------------------------------------------------------
/** @return array<int, array<int, array{rate:float,p50:float,p99:float,errors:int}>> procs => round => run */
$runs = static function (string $kind) use ($of): array {
    $groups = [];
    foreach ($of($kind) as $r) {
        $groups[$r['procs']][$r['round']][] = $r['data'];
    }
    $result = [];
    foreach ($groups as $procs => $rounds) {
        foreach ($rounds as $round => $workers) {
            $n = array_sum(array_column($workers, 'n'));
            $span = max(array_column($workers, 'end')) - min(array_column($workers, 'start'));
            $p50s = array_map(static fn (array $w): float => $w['latency']['p50_ms'], $workers);
            $p99s = array_map(static fn (array $w): float => $w['latency']['p99_ms'], $workers);
            $result[$procs][$round] = [
                'rate' => $n / max($span, 1e-9),
                'p50' => array_sum($p50s) / count($p50s),
                'p99' => max($p99s),
                'mean' => array_sum(array_map(static fn (array $w): float => $w['latency']['mean_ms'], $workers)) / count($workers),
                'errors' => array_sum(array_column($workers, 'error_count')),
                'error_sample' => array_merge(...array_column($workers, 'errors')),
            ];
        }
    }
    return $result;
};
$ingest = $runs('ingest');
$floor = $runs('floor');
$best = static function (array $rounds): array {
    usort($rounds, static fn (array $a, array $b): int => $b['rate'] <=> $a['rate']);
    return $rounds[0];
};
$out .= "\n(a) Webhook ingest through PHP FFI vs the raw-DB floor, messages/s\n"
    . "    ingest: Crmchats::handleWebhook, distinct Telegram private-text updates from 50 known visitors\n"
    . "    floor:  PDO prepared single-row INSERT, autocommit, into a copy of the messages table (same columns/keys)\n";
$lines = [];
$errors = 0;
foreach ([1, 4] as $procs) {
    if (!isset($ingest[$procs], $floor[$procs])) {
        continue;
    }
    $i = $best($ingest[$procs]);
    $fl = $best($floor[$procs]);
    $ratio = $i['rate'] / $fl['rate'];
    $errors += array_sum(array_column($ingest[$procs], 'errors'));
    $lines[] = [
        $procs,
        $f($i['rate'], 0),
        $f($fl['rate'], 0),
        $f($ratio, 3) . ($ratio >= INGEST_TARGET_RATIO ? ' ok' : ' MISS'),
        $f($i['p50']) . ' / ' . $f($i['p99']),
        $f($fl['p50']) . ' / ' . $f($fl['p99']),
        implode(' ', array_map(static fn (array $r): string => $f($r['rate'], 0), $ingest[$procs]))
            . ' | ' . implode(' ', array_map(static fn (array $r): string => $f($r['rate'], 0), $floor[$procs])),
    ];
}
$out .= $table(
    ['procs', 'ingest msg/s', 'floor msg/s', 'ratio (≥0.8)', 'ingest p50/p99 ms', 'floor p50/p99 ms', 'all rounds: ingest | floor'],
    $lines,
);
$warm = $one('ingest_new_visitors');
if ($warm !== []) {
    $out .= sprintf(
        "  first message of a new visitor (visitor + dialog created, getChat at the fake Telegram): "
            . "p50 %s ms, p99 %s ms, mean %s ms (%d calls)\n",
        $f($warm['latency']['p50_ms']),
        $f($warm['latency']['p99_ms']),
        $f($warm['latency']['mean_ms']),
        $warm['n'],
    );
}
$out .= "  latencies per call; with 4 processes p50 = mean of the workers' p50, p99 = the worst worker's p99\n";
if ($errors > 0) {
    $samples = [];
    foreach ($ingest as $rounds) {
        foreach ($rounds as $r) {
            $samples = array_merge($samples, $r['error_sample']);
        }
    }
    $out .= "  WEBHOOK ERRORS: $errors non-200 answers, e.g. " . implode('; ', array_slice(array_unique($samples), 0, 3)) . "\n";
}

// --- round trips ----------------------------------------------------------------------------------
$count = $one('sqlcount');
if ($count !== []) {
    $out .= "\n    Database round trips per call (every command on the library's connections, counted by a proxy)\n";
    $lines = [];
    foreach ($count['ops'] as $op) {
        $by = $op['by_command'];
        $lines[] = [
            $op['op'],
            $f($op['round_trips_per_call'], 1),
            $f($by['Ping'] ?? 0, 1),
            $f($by['Query'] ?? 0, 1),
            $f($by['Prepare'] ?? 0, 1),
            $f($by['Execute'] ?? 0, 1),
        ];
    }
    $out .= $table(['call', 'round trips', 'ping', 'query', 'prepare', 'execute'], $lines);
    $out .= "  (the floor: 1 round trip per message; prepares happen once per connection, the statement cache keeps them)\n";
    $rtt = $one('rtt');
    if ($rtt !== []) {
        $out .= sprintf(
            "  one round trip here (PDO prepared SELECT 1, same socket): p50 %s µs, mean %s µs\n",
            $f($rtt['select1']['p50_ms'] * 1000, 0),
            $f($rtt['select1']['mean_ms'] * 1000, 0),
        );
    }
    foreach ($count['ops'] as $op) {
        if ($op['op'] === 'handle_webhook (known visitor)') {
            $out .= "  one webhook from a known visitor, in order:\n";
            foreach ($op['statements'] as $i => $statement) {
                $out .= sprintf("    %2d. %s\n", $i + 1, $statement);
            }
        }
    }
}

// --- (b) list_dialogs ---------------------------------------------------------------------------
$out .= "\n(b) list_dialogs through PHP FFI: operator 1, status open, limit 50 (target p99 ≤ 5 ms at 100k)\n";
$lists = $of('list');
$seeds = [];
foreach ($of('seed') as $s) {
    $seeds[$s['procs']] = $s['data'];
}
$lines = [];
$largest = $lists === [] ? 0 : max(array_column($lists, 'procs'));
$explain = '';
foreach ($lists as $l) {
    $size = $l['procs'];
    $seed = $seeds[$size] ?? [];
    foreach ($l['data']['variants'] as $name => $v) {
        $miss = $v['p99_ms'] > LIST_TARGET_P99_MS;
        $lines[] = [
            number_format($size, 0, '.', ' '),
            sprintf('%s open', number_format($seed['open'] ?? 0, 0, '.', ' ')),
            $name,
            $v['n'],
            $v['rows'],
            $f($v['p50_ms']),
            $f($v['p99_ms']) . ($size >= 100_000 ? ($miss ? ' MISS' : ' ok') : ''),
        ];
        if ($miss && $size === $largest) {
            $explain .= "  $name at " . number_format($size, 0, '.', ' ') . " dialogs — ANALYZE of the list_dialogs query:\n";
            foreach ($v['explain'] as $e) {
                $explain .= "    $e\n";
            }
            $explain .= "  the same with join_cache_level=0 (no join buffer), for comparison:\n";
            foreach ($v['explain_no_join_buffer'] as $e) {
                $explain .= "    $e\n";
            }
        }
    }
}
$out .= $table(['dialogs', 'of them', 'variant', 'calls', 'rows', 'p50 ms', 'p99 ms'], $lines);
$out .= "  page2 = with page 1's cursor; search_name = 'Смирн' (~1 visitor in 10); search_rare = 'заявки 4821' (few matches)\n";
foreach ($seeds as $size => $seed) {
    $out .= sprintf(
        "  seeded in bulk with SQL: %s dialogs, %s messages, in %s s\n",
        number_format($seed['dialogs'], 0, '.', ' '),
        number_format($seed['messages'], 0, '.', ' '),
        $f($seed['seconds'], 1),
    );
}
if ($explain !== '') {
    $out .= "\n" . $explain;
}
if ($count !== [] && !($count['list_sql_copy_current'] ?? true)) {
    $out .= "  NOTE: bench_list_dialogs_sql() (bench/lib.php) no longer matches the SQL the library sends, so the\n"
        . "  ANALYZE above may describe an old query. The library sends:\n    " . $count['list_sql_sent'] . "\n";
}

// --- (c) init -----------------------------------------------------------------------------------
$out .= "\n(c) init, microseconds\n";
$first = array_column($of('init_first'), 'data');
$repeat = $one('init_repeat');
$empty = array_column($of('init_empty'), 'data');
$lines = [];
$range = static fn (array $v): string => count($v) > 1 ? sprintf(' (%s..%s)', $f(min($v), 0), $f(max($v), 0)) : '';
if ($first !== []) {
    $v = array_column($first, 'first_init_us');
    $lines[] = ['first init, fresh process, migrated db (connect + migration check)', 'median of ' . count($v), $f($median($v), 0) . $range($v)];
    $v = array_column($first, 'load_us');
    $lines[] = ['  before it: loading the library (new Crmchats: FFI::cdef, dlopen)', 'median of ' . count($v), $f($median($v), 0) . $range($v)];
    $v = array_column($first, 'pdo_floor_us');
    $lines[] = ['  floor: PDO connect (same socket) + SET time_zone + version query', 'median of ' . count($v), $f($median($v), 0) . $range($v)];
}
if ($repeat !== []) {
    $r = $repeat['repeat'];
    $lines[] = ['repeated init, same config', 'mean of ' . $r['n'], $f($r['mean_ms'] * 1000, 1)
        . sprintf(' (p50 %s, p99 %s, max %s)', $f($r['p50_ms'] * 1000, 1), $f($r['p99_ms'] * 1000, 1), $f($r['max_ms'] * 1000, 0))];
}
if ($empty !== []) {
    $v = array_column($empty, 'first_init_us');
    $lines[] = ['first init on an empty database (migrations applied, ' . ($empty[0]['tables_created'] ?? '?') . ' tables)',
        'median of ' . count($v), $f($median($v), 0) . $range($v)];
}
$out .= $table(['', 'runs', 'µs'], $lines);

$end = $one('end');
if (($end['log_lines'] ?? 0) > 0) {
    $out .= sprintf("\nlibrary log: %d lines (level warn), first: %s\n", $end['log_lines'], trim((string)$end['log_sample']));
}
$out .= sprintf("\nrun took %d s\n", $end['seconds'] ?? 0);
echo $out;

/** Display width without mbstring: UTF-8 characters count once. */
function mb_strwidth_safe(string $s): int
{
    return (int)preg_match_all('/./us', $s);
}
