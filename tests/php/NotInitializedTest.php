<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/** A fresh PHP process that loads the library but never calls init(). */
final class NotInitializedTest extends TestCase
{
    public function testEveryOperationBeforeInitIsNotInitialized(): void
    {
        $code = TestEnv::childScript('return [
            "version" => $lib->version(),
            "call" => $code(fn () => $lib->call("channels.list")),
            "list_dialogs" => $code(fn () => $lib->listDialogs(["operator_id" => 1, "status" => "all"])),
            "send_message" => $code(fn () => $lib->sendMessage(["dialog_id" => 1, "operator_id" => 1, "text" => "x"])),
            "handle_webhook" => $code(fn () => $lib->handleWebhook(["channel_id" => 1, "method" => "POST"], "{}")),
        ];');

        [$exit, $stdout, $stderr] = TestEnv::runPhp($code, ['-d', 'ffi.enable=On']);

        $this->assertSame(0, $exit, $stderr);
        $result = json_decode($stdout, true, 512, JSON_THROW_ON_ERROR);
        $this->assertNotSame('', $result['version'], 'version() needs no init');
        unset($result['version']);
        $this->assertSame(array_fill_keys(array_keys($result), 'not_initialized'), $result);
    }
}
