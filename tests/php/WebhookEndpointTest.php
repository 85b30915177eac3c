<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * webhook.php and attachment.php over HTTP, served by `php -d ffi.enable=On -S ... -t php-bridge`
 * with the configuration given through config.php's environment variables.
 */
final class WebhookEndpointTest extends TestCase
{
    private static ?BridgeServer $server = null;
    private static ?string $log = null;

    private static function server(): BridgeServer
    {
        if (self::$server === null) {
            self::$log = TestEnv::get('CRMCHATS_STORAGE_DIR') . '/php-server-' . getmypid() . '.log';
            self::$server = new BridgeServer(TestEnv::serverPort(), ['-d', 'ffi.enable=On', '-d', 'display_errors=0'], TestEnv::childEnv(), self::$log);
        }
        return self::$server;
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    private static function webhookUrl(string $extraQuery = ''): string
    {
        return self::server()->url('/webhook.php?channel=' . TestEnv::channel()['id'] . $extraQuery);
    }

    /** @return array<string, mixed>|null the visitor's message with this text */
    private static function findMessage(string $username, string $text): ?array
    {
        foreach (TestEnv::dialogsOf($username) as $dialog) {
            $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialog['id'], 'operator_id' => 1])['messages'];
            foreach ($messages as $message) {
                if ($message['text'] === $text) {
                    return $message;
                }
            }
        }
        return null;
    }

    public function testProviderPostIsAnsweredAndStored(): array
    {
        [$body, $headers, $text, $username] = TestEnv::freshTextUpdate('Через webhook.php, проверка ✅');

        $response = TestEnv::http('POST', self::webhookUrl(), $headers, $body);

        $this->assertSame(200, $response['status'], self::server()->log());
        $message = self::findMessage($username, $text);
        $this->assertNotNull($message, 'the message posted to webhook.php is stored');
        $this->assertSame('in', $message['direction']);
        return $message;
    }

    /** The endpoint adds nothing of its own: status, headers and body are the library's. */
    public function testRefusalIsPassedThroughVerbatim(): void
    {
        [$body, $headers, , $username] = TestEnv::freshTextUpdate('forged through webhook.php');
        $headers[TestEnv::SECRET_HEADER] = 'tgShared_forged';
        $direct = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers), $body);

        $response = TestEnv::http('POST', self::webhookUrl(), $headers, $body);

        $this->assertContains($response['status'], [401, 403]);
        $this->assertSame($direct['status'], $response['status']);
        $this->assertSame($direct['body'], $response['body']);
        foreach ($direct['headers'] as $name => $value) {
            $this->assertSame((string)$value, $response['headers'][strtolower((string)$name)] ?? null, "header $name");
        }
        $this->assertArrayNotHasKey('x-powered-by', $response['headers']);
        if (!array_key_exists('content-type', array_change_key_case($direct['headers']))) {
            $this->assertArrayNotHasKey('content-type', $response['headers'], 'no PHP default Content-Type added');
        }
        $this->assertSame([], TestEnv::dialogsOf($username));
    }

    public function testMalformedBodyThroughTheEndpointIs400(): void
    {
        [, $headers] = TestEnv::fixture('private_text');

        $response = TestEnv::http('POST', self::webhookUrl(), $headers, '{"update_id": 1, "message": [');

        $this->assertSame(400, $response['status'], self::server()->log());
    }

    /** A GET with dotted query keys (Facebook/VK style handshake) gets the same answer as the library gives directly. */
    public function testHandshakeStyleGetMatchesTheLibrarysAnswer(): void
    {
        $query = ['hub.mode' => 'subscribe', 'hub.challenge' => '1158201444', 'hub.verify_token' => 'x y'];
        $direct = TestEnv::lib()->handleWebhook(['method' => 'GET'] + TestEnv::webhookRequest([], $query), '');

        $response = TestEnv::http('GET', self::webhookUrl('&hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=x+y'));

        $this->assertSame($direct['status'], $response['status']);
        $this->assertSame($direct['body'], $response['body']);
    }

    /** @depends testProviderPostIsAnsweredAndStored */
    public function testAttachmentIsStreamedWithItsUtf8Name(array $inbound): void
    {
        $bytes = "Счёт 4821: 12 400 ₽\n";
        $sent = TestEnv::lib()->sendMessage([
            'dialog_id' => $inbound['dialog_id'],
            'operator_id' => 1,
            'text' => 'Счёт во вложении',
            'attachments' => [['data_base64' => base64_encode($bytes), 'name' => 'Счёт_4821.txt', 'mime' => 'text/plain']],
        ])['message'];
        $this->assertSame('sent', $sent['status'], (string)($sent['error'] ?? ''));
        $url = $sent['attachments'][0]['url'];
        $this->assertStringStartsWith(TestEnv::publicBaseUrl() . '/attachment.php?id=', $url);

        $response = TestEnv::http('GET', $url . '&operator_id=1');

        $this->assertSame(200, $response['status'], self::server()->log());
        $this->assertSame($bytes, $response['body']);
        $this->assertSame((string)strlen($bytes), $response['headers']['content-length']);
        $this->assertStringStartsWith('text/plain', $response['headers']['content-type']);
        $this->assertStringContainsString("filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82_4821.txt", $response['headers']['content-disposition']);
        $this->assertSame('nosniff', $response['headers']['x-content-type-options']);

        $anonymous = TestEnv::http('GET', $url);
        $this->assertSame(403, $anonymous['status']);
        $unknown = TestEnv::http('GET', self::server()->url('/attachment.php?id=2000000000&operator_id=1'));
        $this->assertSame(404, $unknown['status']);
    }
}
