<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * The library through the Crmchats class, as the CRM's PHP uses it: a Telegram channel on the fake Bot
 * API, inbound webhooks from the shared fixtures, the operator's inbox, replies.
 */
final class LibraryTest extends TestCase
{
    private static function errorCodeOf(callable $call): string
    {
        try {
            $call();
        } catch (CrmchatsException $e) {
            return $e->getErrorCode();
        }
        self::fail('expected a CrmchatsException');
    }

    public function testVersionIsAVersionString(): void
    {
        $this->assertMatchesRegularExpression('/^\d+\.\d+\.\d+/', TestEnv::load()->version());
    }

    public function testInitWithTheTestDatabaseSucceeds(): void
    {
        $this->assertIsArray(TestEnv::lib()->init(TestEnv::config()), 'a second init with the same configuration is fine');
    }

    public function testInitWithABadDatabaseUrlFails(): void
    {
        $config = TestEnv::config();
        $unreachable = var_export(['database_url' => 'mysql://nobody:wrong@127.0.0.1:1/nothing'] + $config, true);
        $garbage = var_export(['database_url' => 'this is not a url'] + $config, true);
        $code = TestEnv::childScript("return [
            \$code(fn () => \$lib->init($unreachable)),
            \$code(fn () => \$lib->init($garbage)),
        ];");

        [$exit, $stdout, $stderr] = TestEnv::runPhp($code, ['-d', 'ffi.enable=On']);

        $this->assertSame(0, $exit, $stderr);
        [$unreachableCode, $garbageCode] = json_decode($stdout, true, 512, JSON_THROW_ON_ERROR);
        $this->assertContains($unreachableCode, ['storage_error', 'invalid_argument'], 'unreachable database');
        $this->assertContains($garbageCode, ['storage_error', 'invalid_argument'], 'malformed database_url');
    }

    public function testOperatorsAreTheCrmUsers(): void
    {
        $operators = TestEnv::lib()->call('operators.list')['operators'];

        $byId = array_column($operators, null, 'id');
        $this->assertArrayHasKey(1, $byId);
        $this->assertTrue($byId[1]['is_admin']);
        $this->assertIsString($byId[1]['name']);
    }

    public function testTelegramTokenCanBeCheckedBeforeSaving(): void
    {
        $result = TestEnv::lib()->call('channels.check', ['type' => 'telegram', 'token' => TestEnv::BOT_TOKEN, 'settings' => []]);

        $this->assertIsArray($result);
        $this->assertStringContainsString('Северный ветер — поддержка', json_encode($result, JSON_UNESCAPED_UNICODE));
    }

    public function testWrongTelegramTokenIsRefusedOnCheck(): void
    {
        $code = self::errorCodeOf(fn () => TestEnv::lib()->call('channels.check', [
            'type' => 'telegram', 'token' => '123:not-the-token', 'settings' => [],
        ]));
        $this->assertSame('provider_unauthorized', $code);
    }

    public function testCreatedTelegramChannelHasItsWebhookUrl(): array
    {
        $channel = TestEnv::channel();

        $this->assertIsInt($channel['id']);
        $this->assertSame('telegram', $channel['type']);
        $this->assertStringStartsWith('phpunit ', $channel['name']);
        $this->assertSame('Северный ветер — поддержка', $channel['bot_name']);
        $this->assertTrue($channel['active']);
        $this->assertSame(TestEnv::publicBaseUrl() . '/webhook.php?channel=' . $channel['id'], $channel['webhook']['url']);
        $this->assertIsString($channel['webhook']['state']);
        return $channel;
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testChannelIsListedAndCanBeFetched(array $channel): void
    {
        $lib = TestEnv::lib();
        $listed = array_column($lib->call('channels.list')['channels'], null, 'id');

        $this->assertArrayHasKey($channel['id'], $listed);
        $this->assertSame($channel['name'], $listed[$channel['id']]['name']);
        $fetched = $lib->call('channels.get', ['channel_id' => $channel['id']])['channel'];
        $this->assertSame($channel['id'], $fetched['id']);
        $this->assertSame($channel['webhook']['url'], $fetched['webhook']['url']);
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testForgedSecretIsRefusedAndStoresNothing(array $channel): void
    {
        [$body, $headers, , $username] = TestEnv::freshTextUpdate('forged message');
        $headers[TestEnv::SECRET_HEADER] = 'tgShared_wrong-secret';

        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers), $body);

        $this->assertContains($response['status'], [401, 403]);
        $missing = $headers;
        unset($missing[TestEnv::SECRET_HEADER]);
        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($missing), $body);
        $this->assertContains($response['status'], [401, 403]);
        $this->assertSame([], TestEnv::dialogsOf($username));
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testMalformedBodyIs400(array $channel): void
    {
        [, $headers] = TestEnv::fixture('private_text');

        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers), '{"update_id":583920200,"message":');

        $this->assertSame(400, $response['status']);
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testInboundTelegramMessageOpensADialogWithOneUnread(array $channel): array
    {
        [$body, $headers] = TestEnv::fixture('private_text');

        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers), $body);

        $this->assertSame(200, $response['status']);
        $this->assertIsArray($response['headers']);
        $this->assertIsString($response['body']);
        $dialogs = TestEnv::dialogsOf('alex_smirnov');
        $this->assertCount(1, $dialogs);
        $dialog = $dialogs[0];
        $this->assertSame('Алексей Смирнов', $dialog['visitor']['name']);
        $this->assertSame('alex_smirnov', $dialog['visitor']['username']);
        $this->assertSame(1, $dialog['unread']);
        $this->assertSame('in', $dialog['last_message']['direction']);
        $this->assertSame('Здравствуйте! Подскажите, заказ №4821 уже отправлен? 📦', $dialog['last_message']['text']);
        $this->assertSame($channel['id'], $dialog['channel']['id']);
        return $dialog;
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testRedeliveryIsAcknowledgedAndStoredOnce(array $dialog): void
    {
        [$body, $headers] = TestEnv::fixture('private_text_redelivery');

        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers), $body);

        $this->assertSame(200, $response['status']);
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialog['id'], 'operator_id' => 1])['messages'];
        $this->assertCount(1, $messages);
        $this->assertSame(1, TestEnv::dialogsOf('alex_smirnov')[0]['unread']);
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testMessagesListShowsTheVisitorsText(array $dialog): void
    {
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialog['id'], 'operator_id' => 1])['messages'];

        $this->assertCount(1, $messages);
        $message = $messages[0];
        $this->assertSame($dialog['id'], $message['dialog_id']);
        $this->assertSame('in', $message['direction']);
        $this->assertSame('Здравствуйте! Подскажите, заказ №4821 уже отправлен? 📦', $message['text']);
        $this->assertSame('received', $message['status']);
        $this->assertSame('Алексей Смирнов', $message['author']['name']);
        $this->assertSame([], $message['attachments']);
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testReadingTheDialogClearsUnread(array $dialog): void
    {
        $this->assertSame(1, TestEnv::dialogsOf('alex_smirnov')[0]['unread']);

        TestEnv::lib()->call('dialogs.read', ['dialog_id' => $dialog['id'], 'operator_id' => 1]);

        $this->assertSame(0, TestEnv::dialogsOf('alex_smirnov')[0]['unread']);
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testReplyIsSentToTelegramWithItsExternalId(array $dialog): array
    {
        $result = TestEnv::lib()->sendMessage([
            'dialog_id' => $dialog['id'],
            'operator_id' => 1,
            'text' => 'Добрый день, Алексей! Заказ №4821 передан в доставку сегодня 🚚',
        ]);

        $message = $result['message'];
        $this->assertSame('sent', $message['status']);
        $this->assertNotEmpty($message['external_id']);
        $this->assertSame('out', $message['direction']);
        $this->assertSame('Добрый день, Алексей! Заказ №4821 передан в доставку сегодня 🚚', $message['text']);
        $this->assertSame(1, $message['author']['id']);
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialog['id'], 'operator_id' => 1])['messages'];
        $this->assertSame([$message['id']], array_values(array_filter(array_column($messages, 'id'), fn ($id) => $id === $message['id'])));
        $this->assertSame('out', TestEnv::dialogsOf('alex_smirnov')[0]['last_message']['direction']);
        return $message;
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testReplyWithAFileStoresTheAttachment(array $dialog): void
    {
        $bytes = "Накладная 4821\nline 2\n";
        $result = TestEnv::lib()->sendMessage([
            'dialog_id' => $dialog['id'],
            'operator_id' => 1,
            'text' => '',
            'attachments' => [['data_base64' => base64_encode($bytes), 'name' => 'накладная.txt', 'mime' => 'text/plain']],
        ]);

        $message = $result['message'];
        $this->assertSame('sent', $message['status'], (string)($message['error'] ?? ''));
        $this->assertCount(1, $message['attachments']);
        $attachment = $message['attachments'][0];
        $this->assertSame('накладная.txt', $attachment['name']);
        $this->assertSame(strlen($bytes), $attachment['size']);
        $this->assertSame(TestEnv::publicBaseUrl() . '/attachment.php?id=' . $attachment['id'], $attachment['url']);
        $stored = TestEnv::lib()->call('attachments.get', ['attachment_id' => $attachment['id'], 'operator_id' => 1])['attachment'];
        $this->assertFileExists($stored['path']);
        $this->assertSame($bytes, file_get_contents($stored['path']));
    }

    /** @depends testInboundTelegramMessageOpensADialogWithOneUnread */
    public function testMessagesOfAnUnknownDialogAreNotFound(array $dialog): void
    {
        $code = self::errorCodeOf(fn () => TestEnv::lib()->call('messages.list', ['dialog_id' => 2_000_000_000, 'operator_id' => 1]));
        $this->assertSame('not_found', $code);
    }

    public function testUnknownMethodIsRefused(): void
    {
        $this->assertSame('unknown_method', self::errorCodeOf(fn () => TestEnv::lib()->call('dialogs.explode')));
    }

    public function testMissingRequiredFieldIsAnInvalidArgument(): void
    {
        $this->assertSame('invalid_argument', self::errorCodeOf(fn () => TestEnv::lib()->sendMessage(['text' => 'no dialog'])));
        $this->assertSame('invalid_argument', self::errorCodeOf(fn () => TestEnv::lib()->listDialogs(['status' => 'open'])));
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testChannelCanBeRenamed(array $channel): void
    {
        $lib = TestEnv::lib();
        $updated = $lib->call('channels.update', ['channel_id' => $channel['id'], 'name' => $channel['name'] . ' (renamed)'])['channel'];

        $this->assertSame($channel['name'] . ' (renamed)', $updated['name']);
        $fetched = $lib->call('channels.get', ['channel_id' => $channel['id']])['channel'];
        $this->assertSame($channel['name'] . ' (renamed)', $fetched['name']);
    }

    /** @depends testReplyIsSentToTelegramWithItsExternalId */
    public function testOnlyTheSenderCanDeleteAMessage(array $sent): void
    {
        $lib = TestEnv::lib();
        $this->assertSame('forbidden', self::errorCodeOf(fn () => $lib->call('messages.delete', ['message_id' => $sent['id'], 'operator_id' => 2])));

        $deleted = $lib->call('messages.delete', ['message_id' => $sent['id'], 'operator_id' => 1])['message'];

        $this->assertSame($sent['id'], $deleted['id']);
        $this->assertSame('deleted', $deleted['status']);
    }

    public function testDeletedChannelIsInactiveAndRefusesWebhooks(): void
    {
        $lib = TestEnv::lib();
        $channel = $lib->call('channels.create', [
            'type' => 'telegram',
            'name' => 'phpunit to delete ' . getmypid(),
            'token' => TestEnv::BOT_TOKEN,
            'settings' => ['webhook_secret' => TestEnv::WEBHOOK_SECRET],
        ])['channel'];

        $deleted = $lib->call('channels.delete', ['channel_id' => $channel['id']])['channel'];

        $this->assertFalse($deleted['active']);
        $this->assertFalse($lib->call('channels.get', ['channel_id' => $channel['id']])['channel']['active']);
        [$body, $headers] = TestEnv::freshTextUpdate('to a deleted channel');
        $response = $lib->handleWebhook([
            'channel_id' => $channel['id'], 'method' => 'POST', 'headers' => $headers, 'query' => ['channel' => (string)$channel['id']],
        ], $body);
        $this->assertSame(404, $response['status']);
    }

    /** @depends testCreatedTelegramChannelHasItsWebhookUrl */
    public function testNonUtf8BytesInHeadersOrQueryDoNotBreakAWebhook(array $channel): void
    {
        [$body, $headers, $text, $username] = TestEnv::freshTextUpdate('latin-1 bytes around me');
        $headers['X-Odd'] = "caf\xe9";

        $response = TestEnv::lib()->handleWebhook(TestEnv::webhookRequest($headers, ['utm' => "\xff"]), $body);

        $this->assertSame(200, $response['status']);
        $this->assertSame($text, TestEnv::dialogsOf($username)[0]['last_message']['text']);
    }
}
