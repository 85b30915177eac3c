<?php
/**
 * `make load`: a steady mix of webhooks from every channel type, signed as each messenger signs them,
 * through PHP FFI in several processes, with an operator process polling events.poll and replying,
 * bounded in time. Reports the sustained rate, p50/p99 per channel type, the operator's poll-to-reply
 * latency, each worker's RSS before and after, and checks that every message is stored exactly once.
 *
 * usage:
 *   php load.php run <seconds> <workers> <rate per worker per second>   (the coordinator)
 *   php load.php worker <index> <seconds> <rate> <channels.json> <out.json>
 *   php load.php operator <seconds> <out.json>
 * Environment: LOAD_DB_URL, LOAD_STORAGE, LOAD_TG_API, LOAD_PROVIDERS (fake-providers' output file),
 * CRMCHATS_LIB, CRMCHATS_HEADER (set by scripts/load.sh).
 */

declare(strict_types=1);

require_once __DIR__ . '/../php-bridge/Crmchats.php';

const TG_TOKEN = '7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE';
const TG_SECRET = 'tgShared_9fK2-wLq7Zx4';
const VIBER_TOKEN = '4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60';
const VK_TOKEN = 'vk1.a.SHARED-fake-community-token-0123456789abcdef';
const VK_SECRET = 'vkShrd7Qp2Lm9Xc4';
const FB_SECRET = '3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e';
const WA_SECRET = 'b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d';
const CHATAPI_KEY = 'chatapiSharedKey-7d2f';
const TYPES = ['telegram', 'viber', 'vk', 'facebook', 'whatsapp_cloud', 'chatapi', 'widget'];

function env_or_die(string $name): string
{
    $v = getenv($name);
    if (!is_string($v) || $v === '') {
        fwrite(STDERR, "load: $name is not set (run make load)\n");
        exit(2);
    }
    return $v;
}

function config(): array
{
    $providers = ['telegram' => ['api_base' => env_or_die('LOAD_TG_API')]];
    foreach (file(env_or_die('LOAD_PROVIDERS'), FILE_IGNORE_NEW_LINES) as $line) {
        if (preg_match('/^(viber|vk|facebook|whatsapp_cloud|chatapi)=(.+)$/', $line, $m)) {
            $providers[$m[1]] = ['api_base' => $m[2]];
        }
    }
    return [
        'database_url' => env_or_die('LOAD_DB_URL'),
        'storage_dir' => env_or_die('LOAD_STORAGE'),
        'public_base_url' => 'http://127.0.0.1:9',
        'providers' => $providers,
        'http_timeout_secs' => 5,
        'log_level' => 'error',
    ];
}

function lib(): Crmchats
{
    $lib = new Crmchats(env_or_die('CRMCHATS_LIB'), env_or_die('CRMCHATS_HEADER'));
    $lib->init(config());
    return $lib;
}

function rss_kb(): int
{
    return preg_match('/VmRSS:\s+(\d+)/', (string)file_get_contents('/proc/self/status'), $m) ? (int)$m[1] : 0;
}

function pct(array $v, float $p): float
{
    if (!$v) {
        return 0.0;
    }
    sort($v);
    return $v[min(count($v) - 1, (int)ceil($p * count($v)) - 1)];
}

/** Channels of every type, created once against the fakes. @return array<string, array{id:int, extra:mixed}> */
function setup(Crmchats $lib): array
{
    $make = static function (string $type, string $token, array $settings) use ($lib): int {
        return (int)$lib->call('channels.create', ['type' => $type, 'name' => "load $type", 'token' => $token,
            'settings' => $settings])['channel']['id'];
    };
    $lib->call('operators.add', ['operator_id' => 1, 'user_ids' => [1, 2]]);
    $lib->call('operators.set_status', ['operator_id' => 2, 'status' => 'online']);
    $chatapi = '';
    foreach (file(env_or_die('LOAD_PROVIDERS'), FILE_IGNORE_NEW_LINES) as $line) {
        if (str_starts_with($line, 'chatapi=')) {
            $chatapi = substr($line, 8) . '/instance318205';
        }
    }
    return [
        'telegram' => ['id' => $make('telegram', TG_TOKEN, ['webhook_secret' => TG_SECRET])],
        'viber' => ['id' => $make('viber', VIBER_TOKEN, [])],
        'vk' => ['id' => $make('vk', VK_TOKEN, ['webhook_secret' => VK_SECRET])],
        'facebook' => ['id' => $make('facebook', 'EAAVfakeSharedPageToken0123456789', ['page_id' => '104857392011234',
            'app_id' => '1517776481860111', 'app_secret' => FB_SECRET, 'verify_token' => 'v'])],
        'whatsapp_cloud' => ['id' => $make('whatsapp_cloud', 'EAAGfakeSharedSystemUserToken0123', [
            'phone_number_id' => '106540352242922', 'waba_id' => '102290129340398', 'app_secret' => WA_SECRET, 'verify_token' => 'v'])],
        'chatapi' => ['id' => $make('chatapi', 'sh4r3dch4t4p1t0k3n', ['api_url' => $chatapi, 'webhook_secret' => CHATAPI_KEY])],
        'widget' => ['id' => $make('widget', '', [])],
    ];
}

/** One message of `type`, unique by `n`, as [request, body] for handleWebhook (or widget.send). */
function message(string $type, int $channel, int $n, int $visitor): array
{
    $json = static fn (array $v): string => json_encode($v, JSON_UNESCAPED_UNICODE);
    $request = static fn (array $headers, array $query = []): array => ['channel_id' => $channel, 'method' => 'POST',
        'headers' => ['Content-Type' => 'application/json'] + $headers, 'query' => ['channel' => (string)$channel] + $query];
    $text = "нагрузка $type #$n";
    switch ($type) {
        case 'telegram':
            $uid = 7_000_000_000 + $visitor;
            $body = $json(['update_id' => $n, 'message' => ['message_id' => $n, 'date' => time(),
                'from' => ['id' => $uid, 'is_bot' => false, 'first_name' => "Гость $visitor"],
                'chat' => ['id' => $uid, 'type' => 'private', 'first_name' => "Гость $visitor"], 'text' => $text]]);
            return [$request(['X-Telegram-Bot-Api-Secret-Token' => TG_SECRET]), $body];
        case 'viber':
            $body = $json(['event' => 'message', 'timestamp' => (int)(microtime(true) * 1000), 'message_token' => 5_900_000_000_000_000_000 + $n,
                'sender' => ['id' => "viberVisitor$visitor", 'name' => "Гость $visitor"], 'message' => ['type' => 'text', 'text' => $text]]);
            return [$request(['X-Viber-Content-Signature' => hash_hmac('sha256', $body, VIBER_TOKEN)]), $body];
        case 'vk':
            $uid = 700_000_000 + $visitor;
            $body = $json(['group_id' => 218734561, 'type' => 'message_new', 'event_id' => "load$n", 'v' => '5.199',
                'object' => ['message' => ['date' => time(), 'from_id' => $uid, 'id' => $n, 'out' => 0, 'peer_id' => $uid,
                    'text' => $text, 'attachments' => []]], 'secret' => VK_SECRET]);
            return [$request([]), $body];
        case 'facebook':
            $body = $json(['object' => 'page', 'entry' => [['id' => '104857392011234', 'time' => time() * 1000, 'messaging' => [[
                'sender' => ['id' => (string)(7_100_000_000_000_000 + $visitor)], 'recipient' => ['id' => '104857392011234'],
                'timestamp' => time() * 1000, 'message' => ['mid' => "m_load_$n", 'text' => $text]]]]]]);
            return [$request(['X-Hub-Signature-256' => 'sha256=' . hash_hmac('sha256', $body, FB_SECRET)]), $body];
        case 'whatsapp_cloud':
            $wa = (string)(79_000_000_000 + $visitor);
            $body = $json(['object' => 'whatsapp_business_account', 'entry' => [['id' => '102290129340398', 'changes' => [[
                'field' => 'messages', 'value' => ['messaging_product' => 'whatsapp',
                    'metadata' => ['display_phone_number' => '15550783881', 'phone_number_id' => '106540352242922'],
                    'contacts' => [['profile' => ['name' => "Гость $visitor"], 'wa_id' => $wa]],
                    'messages' => [['from' => $wa, 'id' => "wamid.load$n", 'timestamp' => (string)time(), 'type' => 'text',
                        'text' => ['body' => $text]]]]]]]]]);
            return [$request(['X-Hub-Signature-256' => 'sha256=' . hash_hmac('sha256', $body, WA_SECRET)]), $body];
        case 'chatapi':
            $chat = (78_000_000_000 + $visitor) . '@c.us';
            $body = $json(['messages' => [['id' => "false_{$chat}_LOAD$n", 'body' => $text, 'fromMe' => false, 'author' => $chat,
                'time' => time(), 'chatId' => $chat, 'type' => 'chat', 'senderName' => "Гость $visitor"]], 'instanceId' => '318205']);
            return [$request([], ['key' => CHATAPI_KEY]), $body];
    }
    return [[], $text];
}

function worker(int $index, float $seconds, float $rate, array $channels, string $out): void
{
    $lib = lib();
    $rssBefore = rss_kb();
    $latency = [];
    $errors = [];
    $sent = 0;
    $widgetTokens = [];
    $start = microtime(true);
    $deadline = $start + $seconds;
    for ($i = 0; microtime(true) < $deadline; $i++) {
        // A steady rate: each message has its slot in time.
        $slot = $start + $i / $rate;
        if (($wait = $slot - microtime(true)) > 0) {
            usleep((int)($wait * 1e6));
        }
        $type = TYPES[$i % count(TYPES)];
        $n = ($index + 1) * 10_000_000 + $i;
        $visitor = $index * 1000 + ($i % 50);
        $channel = $channels[$type]['id'];
        $t = hrtime(true);
        try {
            if ($type === 'widget') {
                $widgetTokens[$visitor] ??= $lib->call('widget.start', ['channel_id' => $channel])['visitor_token'];
                $lib->call('widget.send', ['channel_id' => $channel, 'visitor_token' => $widgetTokens[$visitor], 'text' => "нагрузка widget #$n"]);
                $status = 200;
            } else {
                [$request, $body] = message($type, $channel, $n, $visitor);
                $status = (int)($lib->handleWebhook($request, $body)['status'] ?? 0);
            }
        } catch (Throwable $e) {
            $status = 0;
            $errors[] = $type . ': ' . $e->getMessage();
        }
        $latency[$type][] = (hrtime(true) - $t) / 1e6;
        if ($status === 200) {
            $sent++;
        } else {
            $errors[] = "$type: HTTP $status";
        }
    }
    file_put_contents($out, json_encode(['worker' => $index, 'sent' => $sent, 'seconds' => microtime(true) - $start,
        'latency' => $latency, 'errors' => array_slice(array_values(array_unique($errors)), 0, 5), 'error_count' => count($errors),
        'rss_before_kb' => $rssBefore, 'rss_after_kb' => rss_kb()]));
}

function operator(float $seconds, string $out): void
{
    $lib = lib();
    $cursor = $lib->call('events.poll', ['operator_id' => 2])['cursor'];
    $replied = [];
    $latency = [];
    $deadline = microtime(true) + $seconds;
    while (microtime(true) < $deadline) {
        $r = $lib->call('events.poll', ['operator_id' => 2, 'cursor' => $cursor, 'timeout_ms' => 1000]);
        $cursor = $r['cursor'];
        foreach ($r['messages'] as $m) {
            // One answer per dialog keeps the outbox busy without drowning the fakes.
            if ($m['direction'] === 'in' && !isset($replied[$m['dialog_id']])) {
                $replied[$m['dialog_id']] = true;
                $t = hrtime(true);
                try {
                    $lib->sendMessage(['dialog_id' => $m['dialog_id'], 'operator_id' => 2, 'text' => 'Здравствуйте! Чем помочь?']);
                } catch (CrmchatsException $e) {
                    // A closed reply window (Meta) is a clear refusal, not a failure of the run.
                }
                $latency[] = (hrtime(true) - $t) / 1e6;
            }
        }
    }
    file_put_contents($out, json_encode(['replies' => count($replied), 'reply_ms' => ['p50' => pct($latency, 0.5), 'p99' => pct($latency, 0.99)]]));
}

function run(float $seconds, int $workers, float $rate): void
{
    $lib = lib();
    $channels = setup($lib);
    $tmp = sys_get_temp_dir() . '/crmchats-load-' . getmypid();
    @mkdir($tmp);
    file_put_contents("$tmp/channels.json", json_encode($channels));
    $procs = [];
    $spawn = static function (array $args) use (&$procs): void {
        $procs[] = proc_open(array_merge([PHP_BINARY, '-d', 'ffi.enable=1', __FILE__], $args), [1 => STDOUT, 2 => STDERR], $pipes);
    };
    for ($w = 0; $w < $workers; $w++) {
        $spawn(['worker', (string)$w, (string)$seconds, (string)$rate, "$tmp/channels.json", "$tmp/w$w.json"]);
    }
    $spawn(['operator', (string)($seconds + 2), "$tmp/operator.json"]);
    foreach ($procs as $p) {
        proc_close($p);
    }
    $results = array_map(static fn (int $w) => json_decode((string)file_get_contents("$tmp/w$w.json"), true), range(0, $workers - 1));
    $operator = json_decode((string)file_get_contents("$tmp/operator.json"), true);
    $sent = array_sum(array_column($results, 'sent'));
    $elapsed = max(array_column($results, 'seconds'));
    printf("load: %d workers x %.0f msg/s for %.0f s, every channel type in turn, through PHP FFI\n", $workers, $rate, $seconds);
    printf("  sustained: %d messages stored in %.1f s = %.0f msg/s (target %.0f)\n", $sent, $elapsed, $sent / $elapsed, $workers * $rate);
    $byType = [];
    foreach ($results as $r) {
        foreach ($r['latency'] as $type => $ms) {
            $byType[$type] = array_merge($byType[$type] ?? [], $ms);
        }
    }
    foreach (TYPES as $type) {
        printf("  %-15s %6d calls  p50 %6.2f ms  p99 %6.2f ms\n", $type, count($byType[$type] ?? []), pct($byType[$type] ?? [], 0.5), pct($byType[$type] ?? [], 0.99));
    }
    printf("  operator: %d dialogs answered while polling; send_message p50 %.1f ms, p99 %.1f ms\n",
        $operator['replies'], $operator['reply_ms']['p50'], $operator['reply_ms']['p99']);
    foreach ($results as $r) {
        printf("  worker %d: RSS %d kB before, %d kB after (%+d kB); errors %d %s\n", $r['worker'], $r['rss_before_kb'],
            $r['rss_after_kb'], $r['rss_after_kb'] - $r['rss_before_kb'], $r['error_count'], implode('; ', $r['errors']));
    }
    // Exactly once: every inbound message of the run is stored, none twice.
    $pdoUrl = parse_url(env_or_die('LOAD_DB_URL'));
    $pdo = new PDO(sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $pdoUrl['host'], $pdoUrl['port'] ?? 3306,
        ltrim($pdoUrl['path'], '/')), $pdoUrl['user'] ?? 'root', $pdoUrl['pass'] ?? '');
    $stored = (int)$pdo->query("SELECT COUNT(*) FROM app_crmchats_messages WHERE direction = 'in' AND text LIKE 'нагрузка %'")->fetchColumn();
    $distinct = (int)$pdo->query("SELECT COUNT(DISTINCT text) FROM app_crmchats_messages WHERE direction = 'in' AND text LIKE 'нагрузка %'")->fetchColumn();
    printf("  stored: %d inbound messages, %d distinct, %d acknowledged: %s\n", $stored, $distinct, $sent,
        $stored === $sent && $distinct === $sent ? 'every message exactly once' : 'MISMATCH');
    exec('rm -rf ' . escapeshellarg($tmp));
    exit($stored === $sent && $distinct === $sent ? 0 : 1);
}

$mode = $argv[1] ?? '';
match ($mode) {
    'run' => run((float)($argv[2] ?? 20), (int)($argv[3] ?? 4), (float)($argv[4] ?? 25)),
    'worker' => worker((int)$argv[2], (float)$argv[3], (float)$argv[4], json_decode((string)file_get_contents($argv[5]), true), $argv[6]),
    'operator' => operator((float)$argv[2], $argv[3]),
    default => fwrite(STDERR, "usage: see the header of bench/load.php\n"),
};
