<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * What an admin sees when PHP cannot load the library: a CrmchatsException that says what to set.
 * None of these need the built library.
 */
final class FfiAvailabilityTest extends TestCase
{
    private static function loadInChild(string $library, string $header, array $phpArgs): array
    {
        $code = 'require ' . var_export(TestEnv::bridgeDir() . '/Crmchats.php', true) . ';'
            . 'try { new Crmchats(' . var_export($library, true) . ', ' . var_export($header, true) . '); echo "{}"; }'
            . 'catch (CrmchatsException $e) { echo json_encode(["code" => $e->getErrorCode(), "message" => $e->getMessage()]); }';
        [$exit, $stdout, $stderr] = TestEnv::runPhp($code, $phpArgs);
        self::assertSame(0, $exit, $stderr);
        return json_decode($stdout, true, 512, JSON_THROW_ON_ERROR);
    }

    public function testDisabledFfiTellsTheAdminToEnableIt(): void
    {
        $error = self::loadInChild('/nonexistent/libcrmchats.so', '/nonexistent/crmchats.ffi.h', ['-d', 'ffi.enable=0']);

        $this->assertSame('ffi_unavailable', $error['code']);
        $this->assertStringContainsString('ffi.enable=On', $error['message']);
    }

    public function testMissingLibraryNamesThePathAndTheVariable(): void
    {
        $header = tempnam(sys_get_temp_dir(), 'crmchats-h');
        $declarations = array_map(static fn (string $f): string => "void $f(void);", Crmchats::FUNCTIONS);
        file_put_contents($header, "#define FFI_SCOPE \"CRMCHATS\"\n" . implode("\n", $declarations) . "\n");
        try {
            $error = self::loadInChild('/nonexistent/libcrmchats.so', $header, ['-d', 'ffi.enable=On']);
        } finally {
            unlink($header);
        }

        $this->assertSame('library_unavailable', $error['code']);
        $this->assertStringContainsString('/nonexistent/libcrmchats.so', $error['message']);
        $this->assertStringContainsString('CRMCHATS_LIB', $error['message']);
    }

    public function testHeaderOfAnotherVersionIsReported(): void
    {
        $header = tempnam(sys_get_temp_dir(), 'crmchats-h');
        file_put_contents($header, "#define FFI_SCOPE \"CRMCHATS\"\nconst char *crmchats_version(void);\n");
        try {
            $error = self::loadInChild(PHP_BINARY, $header, ['-d', 'ffi.enable=On']);
        } finally {
            unlink($header);
        }

        $this->assertSame('library_unavailable', $error['code']);
        $this->assertStringContainsString('crmchats_init', $error['message']);
    }

    public function testMissingHeaderIsReported(): void
    {
        $error = self::loadInChild('/nonexistent/libcrmchats.so', '/nonexistent/crmchats.ffi.h', ['-d', 'ffi.enable=On']);

        $this->assertSame('library_unavailable', $error['code']);
        $this->assertStringContainsString('/nonexistent/crmchats.ffi.h', $error['message']);
    }

    /** Debian's default ffi.enable=preload under a web SAPI: webhook answers 500, the demo page explains. */
    public function testWebServerWithFfiRestrictedExplainsTheFixAndWebhookAsksForRetry(): void
    {
        $log = tempnam(sys_get_temp_dir(), 'crmchats-server');
        $env = ['PATH' => (string)getenv('PATH'), 'CRMCHATS_CONFIG' => 'none'];
        $server = new BridgeServer(TestEnv::freePort(), ['-d', 'ffi.enable=preload', '-d', 'opcache.enable=0'], $env, $log);
        try {
            $webhook = TestEnv::http('POST', $server->url('/webhook.php?channel=1'), ['Content-Type' => 'application/json'], '{}');
            $demo = TestEnv::http('GET', $server->url('/demo/'));
            $serverLog = $server->log();
        } finally {
            $server->stop();
            unlink($log);
        }

        $this->assertSame(500, $webhook['status'], $serverLog);
        $this->assertSame("temporary failure, retry later\n", $webhook['body']);
        $this->assertStringContainsString('ffi_unavailable', $serverLog);

        $this->assertSame(500, $demo['status']);
        $this->assertStringContainsString('ffi_unavailable', $demo['body']);
        $this->assertStringContainsString('ffi.enable=On', $demo['body']);
        $this->assertStringContainsString('preload.php', $demo['body']);
    }

    public function testWebhookWithoutChannelIs404(): void
    {
        $log = tempnam(sys_get_temp_dir(), 'crmchats-server');
        $server = new BridgeServer(TestEnv::freePort(), ['-d', 'ffi.enable=preload'], ['PATH' => (string)getenv('PATH')], $log);
        try {
            $response = TestEnv::http('POST', $server->url('/webhook.php?hub.mode=subscribe'), [], '{}');
        } finally {
            $server->stop();
            unlink($log);
        }
        $this->assertSame(404, $response['status']);
    }
}
