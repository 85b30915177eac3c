<?php
/**
 * Viber and WhatsApp via ChatAPI through PHP FFI and the real endpoints on PHP's built-in server:
 * Viber checks webhook.php while set_webhook runs and fetches the pictures we send through
 * media.php (path info ending with the extension, as Viber wants); ChatAPI's key travels in
 * webhook.php's query. php_bridge.rs then asks the fake Viber what it fetched.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class ViberChatApiTest extends TestCase
{
    private const VIBER_TOKEN = '4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60';
    /** The visitor and the picture php_bridge.rs looks for in the fake Viber afterwards. */
    private const VIBER_VISITOR = 'cGhwVmliZXJWaXNpdG9yMDE=';
    private const PICTURE = "\xff\xd8\xff\xe0 crmchats php media link";
    private const CHATAPI_TOKEN = 'sh4r3dch4t4p1t0k3n';
    private const CHATAPI_KEY = 'chatapiSharedKey-7d2f';

    private static ?BridgeServer $server = null;

    public static function setUpBeforeClass(): void
    {
        $log = TestEnv::get('CRMCHATS_STORAGE_DIR') . '/php-server-viber-' . getmypid() . '.log';
        self::$server = new BridgeServer(TestEnv::serverPort(), ['-d', 'ffi.enable=On', '-d', 'display_errors=0'], TestEnv::childEnv(), $log);
    }

    public static function tearDownAfterClass(): void
    {
        self::$server?->stop();
        self::$server = null;
    }

    public function testViberChecksWebhookPhpAndFetchesWhatWeSendThroughMediaPhp(): void
    {
        $channel = TestEnv::lib()->call('channels.create', [
            'type' => 'viber', 'name' => 'Viber ' . bin2hex(random_bytes(3)), 'token' => self::VIBER_TOKEN,
        ])['channel'];
        $this->assertSame('registered', $channel['webhook']['state'], 'the check callback got 200 from webhook.php: ' . json_encode($channel) . self::$server->log());
        $id = (int)$channel['id'];

        // A visitor writes (signed as Viber signs: hex HMAC-SHA256 of the body, keyed with the token).
        $body = json_encode(['event' => 'message', 'timestamp' => 1732542455980, 'message_token' => 5913847318876549999,
            'sender' => ['id' => self::VIBER_VISITOR, 'name' => 'Тарас'], 'message' => ['type' => 'text', 'text' => 'Привіт з PHP']],
            JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        $headers = ['Content-Type' => 'application/json', 'X-Viber-Content-Signature' => hash_hmac('sha256', $body, self::VIBER_TOKEN)];
        $stored = TestEnv::http('POST', self::$server->url("/webhook.php?channel=$id"), $headers, $body);
        $this->assertSame(200, $stored['status'], $stored['body'] . self::$server->log());
        $forged = TestEnv::http('POST', self::$server->url("/webhook.php?channel=$id"), ['X-Viber-Content-Signature' => str_repeat('0', 64)], $body);
        $this->assertSame(403, $forged['status']);

        $dialogs = TestEnv::lib()->listDialogs(['operator_id' => 1, 'status' => 'all', 'channel_id' => $id])['dialogs'];
        $this->assertCount(1, $dialogs);
        $this->assertSame('Тарас', $dialogs[0]['visitor']['name']);
        $sent = TestEnv::lib()->sendMessage(['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1, 'text' => 'Каталог',
            'attachments' => [['data_base64' => base64_encode(self::PICTURE), 'name' => 'каталог.jpg', 'mime' => 'image/jpeg']]])['message'];
        $this->assertSame('sent', $sent['status'], json_encode($sent));
    }

    public function testChatApiKeyTravelsThroughWebhookPhpsQuery(): void
    {
        $channel = TestEnv::lib()->call('channels.create', [
            'type' => 'chatapi', 'name' => 'WhatsApp ' . bin2hex(random_bytes(3)), 'token' => self::CHATAPI_TOKEN,
            'settings' => ['api_url' => 'https://api.chat-api.com/instance318205', 'webhook_secret' => self::CHATAPI_KEY],
        ])['channel'];
        $this->assertSame('registered', $channel['webhook']['state'], json_encode($channel));
        $this->assertStringNotContainsString(self::CHATAPI_KEY, json_encode($channel));
        $id = (int)$channel['id'];

        $body = (string)file_get_contents(TestEnv::get('CRMCHATS_FIXTURES') . '/chatapi/inbound/message_text.json');
        $headers = ['Content-Type' => 'application/json'];
        $keyless = TestEnv::http('POST', self::$server->url("/webhook.php?channel=$id"), $headers, $body);
        $this->assertSame(401, $keyless['status']);
        $stored = TestEnv::http('POST', self::$server->url("/webhook.php?channel=$id&key=" . self::CHATAPI_KEY), $headers, $body);
        $this->assertSame(200, $stored['status'], $stored['body'] . self::$server->log());
        $dialogs = TestEnv::lib()->listDialogs(['operator_id' => 1, 'status' => 'all', 'channel_id' => $id])['dialogs'];
        $this->assertCount(1, $dialogs);
        $this->assertSame('Ирина', $dialogs[0]['visitor']['name']);
        $sent = TestEnv::lib()->sendMessage(['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1, 'text' => 'Да, самовывоз есть.'])['message'];
        $this->assertSame('sent', $sent['status'], json_encode($sent));
    }
}
