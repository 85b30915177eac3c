<?php
/**
 * Shared helpers of the bench scripts (run by scripts/bench.sh, one PHP process per measurement).
 *
 * Environment set by scripts/bench.sh:
 *   BENCH_MYSQL        mysql://root@127.0.0.1:3306 (the server, no database)
 *   BENCH_TG_API       base URL of the fake Telegram the run started
 *   BENCH_TG_TOKEN     the bot token the fake accepts
 *   BENCH_STORAGE      storage_dir of the library
 *   BENCH_TMP          the run's scratch folder (barrier files, logs)
 *   CRMCHATS_LIB/CRMCHATS_HEADER  the built library and its FFI header
 *
 * Every script prints one JSON object (its results) on stdout; progress goes to stderr.
 */

declare(strict_types=1);

require_once __DIR__ . '/../php-bridge/Crmchats.php';

const BENCH_SECRET = 'benchSecret_7Qw2-Lx9Vt4';
const BENCH_SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';
/** How many distinct Telegram users write to the bot during the ingest runs. */
const BENCH_VISITORS = 50;

function bench_env(string $name): string
{
    $value = getenv($name);
    if (!is_string($value) || $value === '') {
        fwrite(STDERR, "bench: environment variable $name is not set (run scripts/bench.sh)\n");
        exit(2);
    }
    return $value;
}

function bench_log(string $message): void
{
    fwrite(STDERR, '  ' . $message . "\n");
}

/**
 * The init() configuration for database $db, as a PHP-FPM worker of the CRM would pass it.
 * $serverUrl replaces BENCH_MYSQL (the counting proxy; its URL carries ?prefer_socket=false).
 */
function bench_config(string $db, ?string $serverUrl = null, string $urlQuery = ''): array
{
    return [
        'database_url' => rtrim($serverUrl ?? bench_env('BENCH_MYSQL'), '/') . '/' . $db . $urlQuery,
        'storage_dir' => bench_env('BENCH_STORAGE'),
        'public_base_url' => 'https://crm.example.test/plugins/crmchats',
        'providers' => ['telegram' => ['api_base' => bench_env('BENCH_TG_API')]],
        'http_timeout_secs' => 5,
        'log_file' => bench_env('BENCH_TMP') . '/crmchats.log',
        'log_level' => 'warn',
    ];
}

/** The library, loaded through the bridge class (not initialised). */
function bench_lib(): Crmchats
{
    return new Crmchats();
}

/**
 * PDO on the bench server, over the same transport the library ends up on: the mysql crate, given
 * mysql://...@127.0.0.1, asks the server for @@socket and reconnects over that unix socket
 * (prefer_socket), so the floor uses the socket too (BENCH_MYSQL_SOCKET). Real server-side prepares.
 */
function bench_pdo(?string $db = null): PDO
{
    $parts = parse_url(bench_env('BENCH_MYSQL'));
    $socket = getenv('BENCH_MYSQL_SOCKET');
    $where = is_string($socket) && $socket !== ''
        ? 'unix_socket=' . $socket
        : sprintf('host=%s;port=%d', $parts['host'] ?? '127.0.0.1', $parts['port'] ?? 3306);
    $dsn = 'mysql:' . $where . ';charset=utf8mb4' . ($db !== null ? ';dbname=' . $db : '');
    $pdo = new PDO($dsn, $parts['user'] ?? 'root', $parts['pass'] ?? '', [
        PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
        PDO::ATTR_EMULATE_PREPARES => false,
        PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
    ]);
    $pdo->exec("SET time_zone = '+00:00'");
    return $pdo;
}

/** Runs a file of `;`-terminated statements (the host-dev SQL, the seed SQL) with {placeholders}. */
function bench_run_sql_file(PDO $pdo, string $path, array $vars = []): void
{
    $sql = strtr((string)file_get_contents($path), $vars);
    $statement = '';
    // Lines split on \n only: a byte-mode \R would also split UTF-8 text at its 0x85 bytes.
    foreach (explode("\n", $sql) as $line) {
        $trimmed = trim($line);
        if ($trimmed === '' || str_starts_with($trimmed, '--')) {
            continue;
        }
        $statement .= $line . "\n";
        if (str_ends_with($trimmed, ';')) {
            $pdo->exec(rtrim(trim($statement), ';'));
            $statement = '';
        }
    }
    if (trim($statement) !== '') {
        $pdo->exec($statement);
    }
}

function bench_now(): float
{
    return hrtime(true) / 1e9;
}

/** Wall clock, comparable between processes (for the aggregate rate of concurrent workers). */
function bench_wall(): float
{
    return microtime(true);
}

/**
 * Start barrier of concurrent workers: announce readiness, then wait for the go file that
 * scripts/bench.sh creates once every worker is ready (so process start-up and init are not timed).
 */
function bench_barrier(string $dir, int $worker): void
{
    touch("$dir/ready.$worker");
    $deadline = microtime(true) + 120;
    while (!is_file("$dir/go")) {
        if (microtime(true) > $deadline) {
            fwrite(STDERR, "bench: worker $worker waited 120 s for the start signal\n");
            exit(3);
        }
        usleep(200);
    }
}

/** @param list<float> $values */
function bench_percentile(array $values, float $p): float
{
    if ($values === []) {
        return NAN;
    }
    sort($values);
    $rank = (int)ceil($p / 100 * count($values)) - 1;
    return $values[max(0, min(count($values) - 1, $rank))];
}

/** @param list<float> $values */
function bench_mean(array $values): float
{
    return $values === [] ? NAN : array_sum($values) / count($values);
}

/** @param list<float> $seconds @return array{n:int,p50_ms:float,p99_ms:float,mean_ms:float,max_ms:float} */
function bench_latency(array $seconds): array
{
    return [
        'n' => count($seconds),
        'p50_ms' => bench_percentile($seconds, 50) * 1000,
        'p99_ms' => bench_percentile($seconds, 99) * 1000,
        'mean_ms' => bench_mean($seconds) * 1000,
        'max_ms' => ($seconds === [] ? NAN : max($seconds)) * 1000,
    ];
}

function bench_emit(array $result): void
{
    echo json_encode($result, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION), "\n";
}

/** A Telegram user of the bench: (id, first name, last name, username, language). */
function bench_visitor(int $i): array
{
    static $first = ['Алексей', 'Мария', 'Дмитрий', 'Анна', 'Сергей', 'Ольга', 'Иван', 'Елена', 'Никита', 'Татьяна',
        'John', 'Emma', 'Lukas', 'Sofia', 'Ahmed'];
    static $handles = ['alex', 'masha', 'dima', 'anya', 'serg', 'olga', 'vanya', 'lena', 'nik', 'tanya',
        'john', 'emma', 'lukas', 'sofia', 'ahmed'];
    // Surnames agree with the first name's gender (even indexes of $first are men's names).
    static $lastMen = ['Смирнов', 'Кузнецов', 'Соколов', 'Новиков', 'Петров', null];
    static $lastWomen = ['Иванова', 'Попова', 'Лебедева', 'Морозова', 'Волкова', null];
    static $lastLatin = ['Smith', 'Müller', 'García', 'Khan', null];
    $f = $i % count($first);
    $pool = $f >= 10 ? $lastLatin : ($f % 2 === 0 ? $lastMen : $lastWomen);
    $l = $pool[intdiv($i, count($first)) % count($pool)];
    $username = ($i % 4 === 3) ? null : $handles[$f] . '_' . (1990 + $i % 20) . '_' . $i;
    $lang = ($f >= 10) ? 'en' : 'ru';
    return [5082317000 + $i * 7919, $first[$f], $l, $username, $lang];
}

/** A message text a visitor might write; $n varies it. */
function bench_text(int $n): string
{
    static $texts = [
        'Здравствуйте! Подскажите, заказ №%d уже отправлен? 📦',
        'Добрый день, хочу уточнить стоимость доставки в Екатеринбург',
        'Спасибо, всё получил 👍',
        'Можно счёт на юрлицо? ИНН пришлю отдельно. Заявка %d',
        'Hi, is the order #%d still in stock?',
        'Когда будет поступление? Жду уже неделю',
        'ок',
        'Пришлите, пожалуйста, договор на почту, номер заявки %d. Нам нужно до пятницы согласовать с бухгалтерией, '
            . 'иначе оплата уедет на следующий месяц.',
    ];
    return sprintf($texts[$n % count($texts)], 4000 + $n % 997);
}

/** One Telegram private-text update, byte for byte as the Bot API posts it. */
function bench_update(int $updateId, int $messageId, int $visitor, int $date): string
{
    [$id, $first, $last, $username, $lang] = bench_visitor($visitor);
    $from = ['id' => $id, 'is_bot' => false, 'first_name' => $first];
    $chat = ['id' => $id, 'first_name' => $first];
    if ($last !== null) {
        $from['last_name'] = $chat['last_name'] = $last;
    }
    if ($username !== null) {
        $from['username'] = $chat['username'] = $username;
    }
    $from['language_code'] = $lang;
    $chat['type'] = 'private';
    return json_encode([
        'update_id' => $updateId,
        'message' => [
            'message_id' => $messageId,
            'from' => $from,
            'chat' => $chat,
            'date' => $date,
            'text' => bench_text($messageId),
        ],
    ], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
}

/** The request webhook.php builds from a Telegram POST (headers as nginx + PHP-FPM pass them). */
function bench_webhook_request(int $channelId, int $bodyLength): array
{
    return [
        'channel_id' => $channelId,
        'method' => 'POST',
        'headers' => [
            'Host' => 'crm.example.test',
            'Content-Type' => 'application/json',
            'Content-Length' => (string)$bodyLength,
            'Accept-Encoding' => 'gzip, deflate',
            'X-Forwarded-For' => '149.154.167.220',
            'X-Forwarded-Proto' => 'https',
            BENCH_SECRET_HEADER => BENCH_SECRET,
        ],
        'query' => ['channel' => (string)$channelId],
    ];
}

/**
 * The SQL and bound values of list_dialogs for a request: a copy of src/store/conversations.rs
 * list_dialogs (default table prefix, identity 1), for EXPLAIN/ANALYZE. sqlcount.php compares it with
 * the statement the library prepares, so a stale copy shows in the report.
 *
 * @return array{0:string, 1:list<mixed>}
 */
function bench_list_dialogs_sql(array $request): array
{
    // Mirrors src/store/conversations.rs list_dialogs (status filter: the list_by_status index).
    $sql = "SELECT d.id, d.channel_id, '' AS channel_type, '' AS channel_name, d.visitor_id, "
        . 'v.external_id AS visitor_external_id, v.name AS visitor_name, v.username AS visitor_username, '
        . 'v.avatar_attachment_id, d.status, d.last_message_text, d.last_message_direction, d.last_activity_at, '
        . 'v.client_id, v.contact_id, d.assigned_operator_id, d.inbound_count - COALESCE(r.read_count, 0) AS unread '
        . 'FROM `app_crmchats_dialogs` d FORCE INDEX (list_by_status) '
        . 'JOIN `app_crmchats_visitors` v ON v.id = d.visitor_id '
        . 'LEFT JOIN `app_crmchats_dialog_reads` r ON r.dialog_id = d.id AND r.operator_id = ? WHERE d.identity = ?';
    $params = [$request['operator_id'], 1];
    $sql .= ' AND d.status = ?';
    $params[] = $request['status'];
    if (isset($request['search'])) {
        $sql .= ' AND (v.name LIKE ? OR v.username LIKE ? OR d.last_message_text LIKE ?)';
        $pattern = '%' . addcslashes($request['search'], '\\%_') . '%';
        array_push($params, $pattern, $pattern, $pattern);
    }
    if (isset($request['cursor'])) {
        [$ms, $id] = explode('.', (string)base64_decode(strtr($request['cursor'], '-_', '+/')), 2);
        $at = gmdate('Y-m-d H:i:s', intdiv((int)$ms, 1000)) . sprintf('.%03d', (int)$ms % 1000);
        $sql .= ' AND (d.last_activity_at < ? OR (d.last_activity_at = ? AND d.id < ?))';
        array_push($params, $at, $at, (int)$id);
    }
    $sql .= ' ORDER BY d.last_activity_at DESC, d.id DESC LIMIT ?';
    $params[] = 51;
    return [$sql, $params];
}

/**
 * The arguments every bench worker takes: <database> <channel_id> <worker> <n> <phase> [barrier_dir].
 *
 * @param list<string> $argv
 * @return array{0:string,1:int,2:int,3:int,4:int,5:?string}
 */
function bench_worker_args(array $argv): array
{
    [, $db, $channelId, $worker, $n, $phase] = $argv + [6 => null];
    return [(string)$db, (int)$channelId, (int)$worker, (int)$n, (int)$phase, $argv[6] ?? null];
}
