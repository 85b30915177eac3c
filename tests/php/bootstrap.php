<?php
/**
 * Bootstrap of the PHP tests: loads the bridge and offers TestEnv, the shared helpers.
 *
 * Environment (set by the test driver; a missing one fails the tests that need it, loudly):
 *   CRMCHATS_LIB                 built libcrmchats.so
 *   CRMCHATS_HEADER              php-bridge/crmchats.ffi.h
 *   CRMCHATS_TEST_DATABASE_URL   an existing database with the host CRM tables (app_user: 1 admin, 2)
 *   CRMCHATS_FAKE_TELEGRAM       base URL of a running fake Telegram Bot API
 *   CRMCHATS_STORAGE_DIR         writable directory for attachments and logs
 *   CRMCHATS_FIXTURES            tests/fixtures
 */

declare(strict_types=1);

use PHPUnit\Framework\AssertionFailedError;

require_once __DIR__ . '/../../php-bridge/Crmchats.php';
require_once __DIR__ . '/../../php-bridge/lib/http.php';

final class TestEnv
{
    /** Bot token the fake Telegram accepts, and the webhook secret the fixtures' headers carry. */
    public const BOT_TOKEN = '7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE';
    public const WEBHOOK_SECRET = 'tgShared_9fK2-wLq7Zx4';
    public const SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

    private static ?Crmchats $lib = null;
    private static ?array $channel = null;
    private static ?int $port = null;

    /** An env var the driver must set; its absence is a test failure, not a skip. */
    public static function get(string $name): string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            throw new AssertionFailedError("environment variable $name is not set: run the PHP tests through the "
                . 'test driver, or export it (see tests/php/bootstrap.php)');
        }
        return $value;
    }

    public static function bridgeDir(): string
    {
        return (string)realpath(__DIR__ . '/../../php-bridge');
    }

    /** The library loaded from CRMCHATS_LIB/CRMCHATS_HEADER, not initialised. */
    public static function load(): Crmchats
    {
        return new Crmchats(self::get('CRMCHATS_LIB'), self::get('CRMCHATS_HEADER'));
    }

    /** The library, initialised once per test process with config(). */
    public static function lib(): Crmchats
    {
        if (self::$lib === null) {
            $lib = self::load();
            $lib->init(self::config());
            self::$lib = $lib;
        }
        return self::$lib;
    }

    /** @return array<string, mixed> init() configuration of the test process */
    public static function config(): array
    {
        return [
            'database_url' => self::get('CRMCHATS_TEST_DATABASE_URL'),
            'storage_dir' => self::get('CRMCHATS_STORAGE_DIR'),
            'public_base_url' => self::publicBaseUrl(),
            'providers' => [
                'telegram' => ['api_base' => self::get('CRMCHATS_FAKE_TELEGRAM')],
                'vk' => ['api_base' => self::get('CRMCHATS_FAKE_VK')],
                'facebook' => ['api_base' => self::get('CRMCHATS_FAKE_GRAPH')],
                'whatsapp_cloud' => ['api_base' => self::get('CRMCHATS_FAKE_GRAPH')],
                'viber' => ['api_base' => self::get('CRMCHATS_FAKE_VIBER')],
                'chatapi' => ['api_base' => self::get('CRMCHATS_FAKE_CHATAPI')],
            ],
            'log_file' => self::get('CRMCHATS_STORAGE_DIR') . '/crmchats-phpunit.log',
            'log_level' => 'debug',
        ];
    }

    /**
     * Environment for a child PHP process whose config.php must produce the same configuration
     * (webhook.php under the built-in server).
     *
     * @return array<string, string>
     */
    public static function childEnv(): array
    {
        return array_merge(getenv(), [
            'CRMCHATS_LIB' => self::get('CRMCHATS_LIB'),
            'CRMCHATS_HEADER' => self::get('CRMCHATS_HEADER'),
            'CRMCHATS_DATABASE_URL' => self::get('CRMCHATS_TEST_DATABASE_URL'),
            'CRMCHATS_STORAGE_DIR' => self::get('CRMCHATS_STORAGE_DIR'),
            'CRMCHATS_PUBLIC_BASE_URL' => self::publicBaseUrl(),
            'CRMCHATS_TELEGRAM_API_BASE' => self::get('CRMCHATS_FAKE_TELEGRAM'),
            'CRMCHATS_VK_API_BASE' => self::get('CRMCHATS_FAKE_VK'),
            'CRMCHATS_FACEBOOK_API_BASE' => self::get('CRMCHATS_FAKE_GRAPH'),
            'CRMCHATS_WHATSAPP_CLOUD_API_BASE' => self::get('CRMCHATS_FAKE_GRAPH'),
            'CRMCHATS_VIBER_API_BASE' => self::get('CRMCHATS_FAKE_VIBER'),
            'CRMCHATS_CHATAPI_API_BASE' => self::get('CRMCHATS_FAKE_CHATAPI'),
            'CRMCHATS_LOG_FILE' => self::get('CRMCHATS_STORAGE_DIR') . '/crmchats-phpunit-server.log',
            'CRMCHATS_LOG_LEVEL' => 'debug',
            'CRMCHATS_CONFIG' => 'none',
        ]);
    }

    /** The port webhook.php is served on in WebhookEndpointTest; every channel's webhook URL points there. */
    public static function serverPort(): int
    {
        return self::$port ??= self::freePort();
    }

    public static function publicBaseUrl(): string
    {
        return 'http://127.0.0.1:' . self::serverPort();
    }

    public static function freePort(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0', $errno, $error);
        if ($server === false) {
            throw new RuntimeException("cannot find a free port: $error");
        }
        $name = (string)stream_socket_get_name($server, false);
        fclose($server);
        return (int)substr($name, (int)strrpos($name, ':') + 1);
    }

    /**
     * The Telegram channel of this test process (created once, webhook secret = the fixtures' one).
     *
     * @return array<string, mixed>
     */
    public static function channel(): array
    {
        return self::$channel ??= self::lib()->call('channels.create', [
            'type' => 'telegram',
            'name' => 'phpunit ' . getmypid() . ' ' . bin2hex(random_bytes(3)),
            'token' => self::BOT_TOKEN,
            'settings' => ['webhook_secret' => self::WEBHOOK_SECRET],
        ])['channel'];
    }

    /**
     * A fixture webhook request: [body, headers].
     *
     * @return array{0:string, 1:array<string,string>}
     */
    public static function fixture(string $name): array
    {
        $dir = self::get('CRMCHATS_FIXTURES') . '/telegram/inbound/';
        $body = file_get_contents($dir . $name . '.json');
        $headers = json_decode((string)file_get_contents($dir . $name . '.headers.json'), true, 512, JSON_THROW_ON_ERROR);
        if ($body === false || !is_array($headers)) {
            throw new AssertionFailedError("fixture $dir$name missing");
        }
        return [$body, $headers];
    }

    /**
     * private_text.json from a new visitor with new ids and text, so that a test owns its dialog
     * whatever ran before (the fixture's own visitor, Алексей Смирнов, is LibraryTest's).
     *
     * @return array{0:string, 1:array<string,string>, 2:string, 3:string} body, headers, text, visitor's username
     */
    public static function freshTextUpdate(string $text): array
    {
        [$body, $headers] = self::fixture('private_text');
        $update = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        $unique = random_int(100_000_000, 999_999_999);
        $user = ['id' => 6_000_000_000 + $unique, 'first_name' => 'Тест', 'last_name' => (string)$unique, 'username' => "tester_$unique"];
        $update['update_id'] = $unique;
        $update['message']['message_id'] = $unique;
        $update['message']['from'] = ['is_bot' => false] + $user;
        $update['message']['chat'] = $user + ['type' => 'private'];
        $update['message']['text'] = $text;
        return [json_encode($update, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), $headers, $text, $user['username']];
    }

    /** @return list<array<string, mixed>> channelDialogs() of the visitor with this Telegram username */
    public static function dialogsOf(string $username): array
    {
        return array_values(array_filter(self::channelDialogs(), static fn (array $d): bool => ($d['visitor']['username'] ?? null) === $username));
    }

    /** The webhook request handleWebhook() takes for this process's channel. */
    public static function webhookRequest(array $headers, array $query = []): array
    {
        $channelId = (int)self::channel()['id'];
        return [
            'channel_id' => $channelId,
            'method' => 'POST',
            'headers' => $headers,
            'query' => ['channel' => (string)$channelId] + $query,
        ];
    }

    /** @return list<array<string, mixed>> the dialogs of this process's channel, as operator 1 (admin) sees them */
    public static function channelDialogs(): array
    {
        return self::lib()->listDialogs([
            'operator_id' => 1,
            'status' => 'all',
            'channel_id' => (int)self::channel()['id'],
        ])['dialogs'];
    }

    /**
     * Runs PHP code in a fresh process (a fresh library state).
     *
     * @param list<string> $phpArgs extra php options, e.g. ['-d', 'ffi.enable=0']
     * @return array{0:int, 1:string, 2:string} exit code, stdout, stderr
     */
    public static function runPhp(string $code, array $phpArgs = [], ?array $env = null): array
    {
        return self::run(array_merge([PHP_BINARY], $phpArgs, ['-r', $code]), $env);
    }

    /**
     * Runs a command (no shell) and waits for it.
     *
     * @param list<string> $command
     * @return array{0:int, 1:string, 2:string} exit code, stdout, stderr
     */
    public static function run(array $command, ?array $env = null): array
    {
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env ?? getenv());
        if (!is_resource($process)) {
            throw new RuntimeException('cannot start ' . $command[0]);
        }
        $stdout = (string)stream_get_contents($pipes[1]);
        $stderr = (string)stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }

    /**
     * Code for runPhp() that loads the bridge and prints json_encode() of $body's value.
     * $body is PHP code returning a value; "$lib" is the loaded (not initialised) library.
     */
    public static function childScript(string $body): string
    {
        return 'require ' . var_export(self::bridgeDir() . '/Crmchats.php', true) . ';'
            . '$lib = new Crmchats(' . var_export(self::get('CRMCHATS_LIB'), true) . ', '
            . var_export(self::get('CRMCHATS_HEADER'), true) . ');'
            . '$code = static function (callable $f): string {'
            . '  try { $f(); return "no exception"; } catch (CrmchatsException $e) { return $e->getErrorCode(); } };'
            . 'echo json_encode((function () use ($lib, $code) { ' . $body . ' })());';
    }

    /**
     * A small HTTP client over PHP streams (no curl extension needed).
     *
     * @param array<string, string> $headers
     * @return array{status:int, headers:array<string, string>, body:string}
     */
    public static function http(string $method, string $url, array $headers = [], string $body = ''): array
    {
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        $context = stream_context_create(['http' => [
            'method' => $method,
            'header' => $lines,
            'content' => $body,
            'ignore_errors' => true,
            'timeout' => 20,
            'follow_location' => 0,
        ]]);
        $responseBody = @file_get_contents($url, false, $context);
        $raw = $http_response_header ?? [];
        if ($responseBody === false || $raw === []) {
            throw new AssertionFailedError("no HTTP answer from $method $url");
        }
        preg_match('~^HTTP/\S+\s+(\d{3})~', (string)$raw[0], $m);
        $responseHeaders = [];
        foreach (array_slice($raw, 1) as $line) {
            [$name, $value] = array_pad(explode(':', $line, 2), 2, '');
            $responseHeaders[strtolower(trim($name))] = trim($value);
        }
        return ['status' => (int)($m[1] ?? 0), 'headers' => $responseHeaders, 'body' => $responseBody];
    }
}

/** PHP's built-in web server serving php-bridge/, as a child process of the test. */
final class BridgeServer
{
    /** @var resource */
    private $process;

    /**
     * @param list<string> $phpArgs php options before -S, e.g. ['-d', 'ffi.enable=On']
     * @param array<string, string> $env
     */
    public function __construct(public readonly int $port, array $phpArgs, array $env, public readonly string $logFile)
    {
        $command = array_merge([PHP_BINARY], $phpArgs, ['-S', "127.0.0.1:$port", '-t', TestEnv::bridgeDir()]);
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', $logFile, 'a'], 2 => ['file', $logFile, 'a']], $pipes, TestEnv::bridgeDir(), $env);
        if (!is_resource($process)) {
            throw new RuntimeException('cannot start the PHP built-in server');
        }
        $this->process = $process;
        $deadline = microtime(true) + 10;
        while (microtime(true) < $deadline) {
            $socket = @stream_socket_client("tcp://127.0.0.1:$port", $errno, $error, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return;
            }
            if (!proc_get_status($this->process)['running']) {
                break;
            }
            usleep(50_000);
        }
        $this->stop();
        throw new RuntimeException("the PHP built-in server did not start on port $port:\n" . $this->log());
    }

    public function url(string $path): string
    {
        return "http://127.0.0.1:{$this->port}$path";
    }

    /** What the server wrote (its access log and PHP's error_log), for failure messages. */
    public function log(): string
    {
        return (string)@file_get_contents($this->logFile);
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
    }
}
