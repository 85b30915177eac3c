<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/** The bridge's pure PHP parts: query parsing, request building, JSON encoding, envelopes. No library. */
final class BridgeHelpersTest extends TestCase
{
    public function testQueryParserKeepsDotsInKeysAndDecodesValues(): void
    {
        $query = crmchats_parse_query('channel=3&hub.mode=subscribe&hub.verify_token=a%20b+c&hub.challenge=12%2B3&a%5B%5D=x&flag');

        $this->assertSame([
            'channel' => '3',
            'hub.mode' => 'subscribe',
            'hub.verify_token' => 'a b c',
            'hub.challenge' => '12+3',
            'a[]' => 'x',
            'flag' => '',
        ], $query);
    }

    public function testQueryParserIgnoresEmptyPartsAndLetsTheLastRepeatWin(): void
    {
        $this->assertSame([], crmchats_parse_query(''));
        $this->assertSame(['a' => '2'], crmchats_parse_query('&&a=1&=x&a=2&'));
    }

    public function testWebhookRequestCarriesChannelMethodRawQueryAndHeaders(): void
    {
        $server = [
            'QUERY_STRING' => 'channel=17&hub.mode=subscribe&hub.challenge=1158201444',
            'REQUEST_METHOD' => 'get',
            'HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN' => 'tgShared_9fK2-wLq7Zx4',
            'CONTENT_TYPE' => 'application/json',
            'SCRIPT_NAME' => '/webhook.php',
        ];

        $request = crmchats_webhook_request($server, false);

        $this->assertSame(17, $request['channel_id']);
        $this->assertSame('GET', $request['method']);
        $this->assertSame(['channel' => '17', 'hub.mode' => 'subscribe', 'hub.challenge' => '1158201444'], $request['query']);
        $this->assertSame([
            'X-Telegram-Bot-Api-Secret-Token' => 'tgShared_9fK2-wLq7Zx4',
            'Content-Type' => 'application/json',
        ], $request['headers']);
        $this->assertStringContainsString('"hub.mode":"subscribe"', Crmchats::encode($request));
    }

    public function testWebhookRequestWithoutAValidChannelIsRefused(): void
    {
        foreach (['', 'channel=', 'channel=abc', 'channel=-1', 'channel=0', 'channel=1e3', 'chan=1'] as $query) {
            $this->assertNull(crmchats_webhook_request(['QUERY_STRING' => $query, 'REQUEST_METHOD' => 'POST'], false), $query);
        }
    }

    public function testRequestsEncodeAsObjectsAndKeepUnicode(): void
    {
        $this->assertSame('{}', Crmchats::encode([]));
        $this->assertSame(
            '{"type":"telegram","name":"Северный ветер","settings":{}}',
            Crmchats::encode(['type' => 'telegram', 'name' => 'Северный ветер', 'settings' => []]),
        );
        $this->assertSame(
            '{"channel_id":1,"method":"POST","headers":{},"query":{}}',
            Crmchats::encode(['channel_id' => 1, 'method' => 'POST', 'headers' => [], 'query' => []]),
        );
        // Lists stay lists, also when empty.
        $this->assertSame('{"dialog_id":1,"attachments":[]}', Crmchats::encode(['dialog_id' => 1, 'attachments' => []]));
        $this->assertSame('{"url":"http://h/x"}', Crmchats::encode(['url' => 'http://h/x']));
    }

    public function testEncodingInvalidUtf8Throws(): void
    {
        $this->expectException(JsonException::class);
        Crmchats::encode(['text' => "\xff\xfe"]);
    }

    public function testOkEnvelopeGivesItsResult(): void
    {
        $this->assertSame(['channels' => []], Crmchats::unwrap('{"ok":true,"result":{"channels":[]}}'));
        $this->assertNull(Crmchats::unwrap('{"ok":true,"result":null}'));
    }

    public function testErrorEnvelopeThrowsWithCodeMessageAndRetryAfter(): void
    {
        try {
            Crmchats::unwrap('{"ok":false,"error":{"code":"rate_limited","message":"Too Many Requests: retry after 7","retry_after":7}}');
            $this->fail('no exception');
        } catch (CrmchatsException $e) {
            $this->assertSame('rate_limited', $e->getErrorCode());
            $this->assertSame('Too Many Requests: retry after 7', $e->getMessage());
            $this->assertSame(7, $e->getRetryAfter());
            $this->assertSame('rate_limited', $e->getDetails()['code']);
        }
    }

    public function testGarbageFromTheLibraryIsAnInvalidResponse(): void
    {
        foreach (['', 'not json', '[]', '{"result":1}', '{"ok":"yes"}'] as $text) {
            try {
                Crmchats::unwrap($text);
                $this->fail("no exception for $text");
            } catch (CrmchatsException $e) {
                $this->assertSame('invalid_response', $e->getErrorCode(), $text);
            }
        }
    }

    public function testHeaderDeclarationsDropPreprocessorLines(): void
    {
        $header = "#define FFI_SCOPE \"CRMCHATS\"\n#define FFI_LIB \"libcrmchats.so\"\n#include <stdint.h>\n"
            . "char *crmchats_call(const char *method, const char *params_json);\n  #endif\n";

        $this->assertSame("char *crmchats_call(const char *method, const char *params_json);\n", Crmchats::declarationsOf($header));
    }

    public function testContentDispositionKeepsUtf8NamesWithAnAsciiFallback(): void
    {
        $this->assertSame(
            "attachment; filename=\"_____4821.pdf\"; filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82_4821.pdf",
            crmchats_content_disposition('Счёт_4821.pdf'),
        );
        $this->assertSame(
            "inline; filename=\"a_b_ c_.png\"; filename*=UTF-8''a_b%22%20c%25.png",
            crmchats_content_disposition("a/b\" c%.png\r\n", true),
        );
    }

    public function testOnlyHarmlessTypesAreShownInline(): void
    {
        $this->assertTrue(crmchats_is_inline_mime('image/jpeg'));
        $this->assertTrue(crmchats_is_inline_mime('text/plain; charset=utf-8'));
        $this->assertFalse(crmchats_is_inline_mime('text/html'));
        $this->assertFalse(crmchats_is_inline_mime('image/svg+xml'));
        $this->assertFalse(crmchats_is_inline_mime('application/octet-stream'));
    }

    public function testBaseUrlIsGuessedFromTheScriptLocation(): void
    {
        $bridge = TestEnv::bridgeDir();
        $server = [
            'HTTP_HOST' => 'crm.example.test:8443',
            'HTTPS' => 'on',
            'SCRIPT_NAME' => '/plugins/Chats/php-bridge/demo/index.php',
            'SCRIPT_FILENAME' => $bridge . '/demo/index.php',
        ];
        $this->assertSame('https://crm.example.test:8443/plugins/Chats/php-bridge', crmchats_guess_base_url($server, $bridge));

        $server = ['HTTP_HOST' => '127.0.0.1:8080', 'SCRIPT_NAME' => '/webhook.php', 'SCRIPT_FILENAME' => $bridge . '/webhook.php'];
        $this->assertSame('http://127.0.0.1:8080', crmchats_guess_base_url($server, $bridge));

        $server['HTTP_HOST'] = 'evil.test/"><script>';
        $this->assertNull(crmchats_guess_base_url($server, $bridge));
    }

    public function testConfigComesFromEnvironmentAndLocalFile(): void
    {
        $local = tempnam(sys_get_temp_dir(), 'crmchats-config');
        file_put_contents($local, '<?php return ["log_level" => "warn", "providers" => ["telegram" => ["proxy" => "x"]]];');
        try {
            $code = 'echo json_encode(require ' . var_export(TestEnv::bridgeDir() . '/config.php', true) . ');';
            $env = [
                'PATH' => (string)getenv('PATH'),
                'CRMCHATS_DATABASE_URL' => 'mysql://u:p@127.0.0.1:3306/db',
                'CRMCHATS_TELEGRAM_API_BASE' => 'http://127.0.0.1:9/',
                'CRMCHATS_IDENTITY' => '2',
                'CRMCHATS_LOG_LEVEL' => 'debug',
                'CRMCHATS_CONFIG' => $local,
            ];
            [$exit, $stdout, $stderr] = TestEnv::runPhp($code, [], $env);
            $this->assertSame(0, $exit, $stderr);
            $this->assertSame([
                'database_url' => 'mysql://u:p@127.0.0.1:3306/db',
                'identity' => 2,
                'log_level' => 'warn',
                'providers' => ['telegram' => ['api_base' => 'http://127.0.0.1:9/', 'proxy' => 'x']],
            ], json_decode($stdout, true));
        } finally {
            unlink($local);
        }
    }
}
