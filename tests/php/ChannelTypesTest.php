<?php
/**
 * Every channel type through PHP FFI, end to end: created against its fake messenger, a real
 * fixture webhook (signed as the messenger signs it) handed to handleWebhook, the dialog listed,
 * a reply sent or refused by the channel's rule. Telegram has LibraryTest of its own.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class ChannelTypesTest extends TestCase
{
    /** @return array{0:string, 1:array<string,string>} */
    private static function fixture(string $provider, string $name): array
    {
        $dir = TestEnv::get('CRMCHATS_FIXTURES') . "/$provider/inbound/";
        $body = (string)file_get_contents($dir . $name . '.json');
        $headers = json_decode((string)file_get_contents($dir . $name . '.headers.json'), true, 512, JSON_THROW_ON_ERROR);
        return [$body, $headers];
    }

    private static function post(int $channelId, string $body, array $headers, string $method = 'POST', array $query = []): array
    {
        return TestEnv::lib()->handleWebhook(
            ['channel_id' => $channelId, 'method' => $method, 'headers' => $headers, 'query' => ['channel' => (string)$channelId] + $query],
            $body,
        );
    }

    /** @return list<array<string, mixed>> */
    private static function dialogs(int $channelId): array
    {
        return TestEnv::lib()->listDialogs(['operator_id' => 1, 'view' => 'all', 'status' => 'all', 'channel_id' => $channelId])['dialogs'];
    }

    public function testEveryChannelTypeHasASettingsForm(): void
    {
        $types = TestEnv::lib()->call('channels.types')['types'];
        $names = array_column($types, 'type');
        foreach (['telegram', 'vk', 'facebook', 'whatsapp_cloud', 'widget'] as $expected) {
            $this->assertContains($expected, $names);
        }
        $vk = TestEnv::lib()->call('channels.schema', ['type' => 'vk']);
        $this->assertNotEmpty($vk['fields']);
        foreach ($vk['fields'] as $field) {
            $this->assertArrayHasKey('label_ru', $field);
            $this->assertContains($field['kind'], ['text', 'secret', 'url', 'number', 'generated', 'readonly']);
        }
    }

    public function testVkCallbackIsConfirmedStoredAndAnswered(): void
    {
        $channel = TestEnv::lib()->call('channels.create', [
            'type' => 'vk', 'name' => 'VK ' . bin2hex(random_bytes(3)),
            'token' => 'vk1.a.SHARED-fake-community-token-0123456789abcdef',
            'settings' => ['webhook_secret' => 'vkShrd7Qp2Lm9Xc4'],
        ])['channel'];
        $id = (int)$channel['id'];
        $this->assertSame('registered', $channel['webhook']['state'], json_encode($channel));

        [$body, $headers] = self::fixture('vk', 'confirmation');
        $confirmation = self::post($id, $body, $headers);
        $this->assertSame(200, $confirmation['status']);
        $this->assertSame('a7c3e91f', $confirmation['body'], 'the confirmation code, as VK expects');

        [$body, $headers] = self::fixture('vk', 'message_new_wrong_secret');
        $this->assertSame(403, self::post($id, $body, $headers)['status']);

        [$body, $headers] = self::fixture('vk', 'message_new_text');
        $stored = self::post($id, $body, $headers);
        $this->assertSame(200, $stored['status']);
        $this->assertSame('ok', $stored['body']);
        $this->assertSame('ok', self::post($id, $body, $headers)['body'], 'a redelivery is acknowledged');
        $dialogs = self::dialogs($id);
        $this->assertCount(1, $dialogs);
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1])['messages'];
        $this->assertCount(1, $messages, 'stored once');
        $this->assertStringStartsWith('Добрый день!', $messages[0]['text']);

        $sent = TestEnv::lib()->sendMessage(['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1, 'text' => 'Здравствуйте!'])['message'];
        $this->assertSame('sent', $sent['status'], json_encode($sent));
    }

    public function testFacebookVerifiesTheSubscriptionAndRefusesRepliesOutsideTheWindow(): void
    {
        $channel = TestEnv::lib()->call('channels.create', [
            'type' => 'facebook', 'name' => 'Page ' . bin2hex(random_bytes(3)),
            'token' => 'EAAVfakeSharedPageToken0123456789',
            'settings' => ['page_id' => '104857392011234', 'app_id' => '1517776481860111',
                'app_secret' => '3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e', 'verify_token' => 'crmchats-fb-verify-A7'],
        ])['channel'];
        $id = (int)$channel['id'];
        $this->assertSame('crmchats-fb-verify-A7', $channel['settings']['verify_token'], 'shown to copy');
        $this->assertStringNotContainsString('3f8a1c6e9b2d4f7a0c5e8b1d3a6f9c2e', json_encode($channel), 'the app secret stays hidden');

        $challenge = self::post($id, '', [], 'GET', ['hub.mode' => 'subscribe', 'hub.verify_token' => 'crmchats-fb-verify-A7', 'hub.challenge' => '1158201444']);
        $this->assertSame(200, $challenge['status']);
        $this->assertSame('1158201444', $challenge['body']);
        $wrong = self::post($id, '', [], 'GET', ['hub.mode' => 'subscribe', 'hub.verify_token' => 'guess', 'hub.challenge' => '1']);
        $this->assertSame(403, $wrong['status']);

        [$body, $headers] = self::fixture('facebook', 'message_text');
        $this->assertSame(403, self::post($id, $body . ' ', $headers)['status'], 'a changed byte breaks the signature');
        $this->assertSame(200, self::post($id, $body, $headers)['status']);
        $dialogs = self::dialogs($id);
        $this->assertCount(1, $dialogs);
        $this->assertStringStartsWith('Здравствуйте!', $dialogs[0]['last_message']['text']);

        // The fixture is from 2024: Messenger's 24-hour window closed long ago.
        try {
            TestEnv::lib()->sendMessage(['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1, 'text' => 'Ответ']);
            $this->fail('a reply outside the window is refused');
        } catch (CrmchatsException $e) {
            $this->assertSame('window_closed', $e->getErrorCode());
        }
    }

    public function testWhatsappCloudMessageAndStatusesArrive(): void
    {
        $channel = TestEnv::lib()->call('channels.create', [
            'type' => 'whatsapp_cloud', 'name' => 'WA ' . bin2hex(random_bytes(3)),
            'token' => 'EAAGfakeSharedSystemUserToken0123',
            'settings' => ['phone_number_id' => '106540352242922', 'waba_id' => '102290129340398',
                'app_secret' => 'b7e2d9a4c1f6083e5a9d2c7b4e1f8a3d', 'verify_token' => 'crmchats-wa-verify-A7'],
        ])['channel'];
        $id = (int)$channel['id'];
        [$body, $headers] = self::fixture('whatsapp_cloud', 'message_text');
        $this->assertSame(200, self::post($id, $body, $headers)['status']);
        $dialogs = self::dialogs($id);
        $this->assertCount(1, $dialogs);
        [$body, $headers] = self::fixture('whatsapp_cloud', 'status_read');
        $this->assertSame(200, self::post($id, $body, $headers)['status'], 'a receipt for a message we do not know is acknowledged');
    }

    public function testWidgetVisitorWritesAndReadsTheAnswer(): void
    {
        $channel = TestEnv::lib()->call('channels.create', ['type' => 'widget', 'name' => 'Site ' . bin2hex(random_bytes(3))])['channel'];
        $id = (int)$channel['id'];
        $this->assertStringContainsString('widget.js', $channel['embed']);
        $token = TestEnv::lib()->call('widget.start', ['channel_id' => $id])['visitor_token'];
        TestEnv::lib()->call('widget.send', ['channel_id' => $id, 'visitor_token' => $token, 'text' => '<img src=x onerror=alert(1)>']);
        $dialogs = self::dialogs($id);
        $this->assertCount(1, $dialogs);
        $this->assertSame('<img src=x onerror=alert(1)>', $dialogs[0]['last_message']['text'], 'stored as the visitor wrote it; escaping is the page\'s job');
        TestEnv::lib()->sendMessage(['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1, 'text' => 'Добрый день!']);
        $seen = TestEnv::lib()->call('widget.messages', ['channel_id' => $id, 'visitor_token' => $token])['messages'];
        $this->assertSame(['visitor', 'operator'], array_column($seen, 'from'));
        $this->assertSame('Добрый день!', $seen[1]['text']);
    }
}
