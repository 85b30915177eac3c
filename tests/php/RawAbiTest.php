<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * The C ABI exactly as the header declares it, called through FFI without the class's safety net:
 * NULL pointers, invalid JSON, explicit body lengths, and every pointer given back to crmchats_free().
 */
final class RawAbiTest extends TestCase
{
    /** Calls a raw function that returns an owned char *, frees it, and returns the decoded envelope. */
    private static function envelope(FFI $ffi, string $function, mixed ...$args): array
    {
        $ptr = $ffi->$function(...$args);
        self::assertInstanceOf(FFI\CData::class, $ptr, "$function returned NULL");
        try {
            $json = FFI::string($ptr);
        } finally {
            $ffi->crmchats_free($ptr);
        }
        $envelope = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        self::assertIsBool($envelope['ok'] ?? null, "$function: no ok flag in $json");
        return $envelope;
    }

    private static function assertError(string $code, array $envelope): void
    {
        self::assertFalse($envelope['ok'], json_encode($envelope, JSON_UNESCAPED_UNICODE));
        self::assertSame($code, $envelope['error']['code'], json_encode($envelope, JSON_UNESCAPED_UNICODE));
        self::assertIsString($envelope['error']['message']);
        self::assertNotSame('', $envelope['error']['message']);
    }

    public function testHeaderDeclaresTheContract(): void
    {
        $header = (string)file_get_contents(TestEnv::get('CRMCHATS_HEADER'));
        $lines = preg_split('/\R/', $header);

        $this->assertSame('#define FFI_SCOPE "CRMCHATS"', $lines[0]);
        $this->assertSame('#define FFI_LIB "libcrmchats.so"', $lines[1]);
        preg_match_all('/\b(crmchats_\w+)\s*\(/', Crmchats::declarationsOf($header), $m);
        $declared = $m[1];
        sort($declared);
        $expected = Crmchats::FUNCTIONS;
        sort($expected);
        $this->assertSame($expected, $declared);
        // The declarations parse as C for FFI (no #-lines left, nothing FFI cannot read).
        $this->assertInstanceOf(FFI::class, FFI::cdef(Crmchats::declarationsOf($header), TestEnv::get('CRMCHATS_LIB')));
    }

    public function testVersionIsAStaticString(): void
    {
        $ffi = TestEnv::load()->ffi();

        $first = $ffi->crmchats_version();
        $this->assertIsString($first, 'const char * comes back as a PHP string');
        $this->assertSame($first, $ffi->crmchats_version());
    }

    public function testInitTakesJsonAndAnswersWithAnEnvelope(): void
    {
        $ffi = TestEnv::load()->ffi();

        $this->assertTrue(self::envelope($ffi, 'crmchats_init', Crmchats::encode(TestEnv::config()))['ok']);
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_init', null));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_init', '{"database_url":'));
    }

    public function testCallWithNullMethodIsAnInvalidArgument(): void
    {
        $ffi = TestEnv::lib()->ffi();

        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_call', null, '{}'));
    }

    public function testCallWithInvalidJsonIsAnInvalidArgument(): void
    {
        $ffi = TestEnv::lib()->ffi();

        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_call', 'channels.list', '{"limit": 10'));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_call', 'channels.list', "\xff\xfe"));
    }

    public function testCallWithValidJsonSucceeds(): void
    {
        $envelope = self::envelope(TestEnv::lib()->ffi(), 'crmchats_call', 'channels.list', '{}');

        $this->assertTrue($envelope['ok']);
        $this->assertIsArray($envelope['result']['channels']);
    }

    public function testOtherFunctionsRefuseNullAndInvalidJson(): void
    {
        $ffi = TestEnv::lib()->ffi();

        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_send_message', null));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_send_message', '[1,'));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_list_dialogs', null));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_list_dialogs', 'nope'));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_handle_webhook', null, '', 0));
        self::assertError('invalid_argument', self::envelope($ffi, 'crmchats_handle_webhook', '{"channel_id":', '', 0));
    }

    public function testListDialogsAnswersWithAPage(): void
    {
        $envelope = self::envelope(TestEnv::lib()->ffi(), 'crmchats_list_dialogs', '{"operator_id":1,"status":"all","limit":5}');

        $this->assertTrue($envelope['ok']);
        $this->assertIsArray($envelope['result']['dialogs']);
        $this->assertArrayHasKey('next_cursor', $envelope['result']);
    }

    public function testWebhookBodyIsReadByLengthNotUpToNul(): void
    {
        [$body, $headers] = TestEnv::fixture('private_text');
        $request = Crmchats::encode(TestEnv::webhookRequest($headers));
        $ffi = TestEnv::lib()->ffi();

        // The same valid body followed by a NUL and junk: honoring body_len, the library sees invalid JSON.
        $withJunk = self::envelope($ffi, 'crmchats_handle_webhook', $request, $body . "\0junk", strlen($body) + 5);
        $this->assertTrue($withJunk['ok']);
        $this->assertSame(400, $withJunk['result']['status']);
        // A length shorter than the string: only that prefix counts, so this is a truncated (invalid) body.
        $truncated = self::envelope($ffi, 'crmchats_handle_webhook', $request, $body, 20);
        $this->assertSame(400, $truncated['result']['status']);
    }

    public function testSendMessageToAnUnknownDialogIsAnErrorEnvelope(): void
    {
        $envelope = self::envelope(TestEnv::lib()->ffi(), 'crmchats_send_message', '{"dialog_id":2000000000,"operator_id":1,"text":"x"}');

        self::assertError('not_found', $envelope);
    }

    public function testFreeingNullIsHarmless(): void
    {
        TestEnv::load()->ffi()->crmchats_free(null);
        $this->addToAssertionCount(1);
    }
}
