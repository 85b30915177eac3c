<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/**
 * Debian's default ffi.enable=preload, made to work the way README.md tells admins: ffi.preload with the
 * header written by `preload.php --write-header`, and opcache.preload = preload.php for the class.
 */
final class PreloadedLibraryTest extends TestCase
{
    public function testWebhookWorksWithThePreloadedLibrary(): void
    {
        $dir = TestEnv::get('CRMCHATS_STORAGE_DIR');
        $header = $dir . '/crmchats.preload.' . getmypid() . '.h';
        [$exit, $stdout, $stderr] = TestEnv::run(
            [PHP_BINARY, TestEnv::bridgeDir() . '/preload.php', '--write-header', $header],
            TestEnv::childEnv(),
        );
        $this->assertSame(0, $exit, $stdout . $stderr);
        $this->assertStringContainsString('ffi.preload = ' . realpath($header), $stdout);
        $this->assertStringContainsString('#define FFI_LIB "' . realpath(TestEnv::get('CRMCHATS_LIB')) . '"', (string)file_get_contents($header));

        $user = function_exists('posix_getpwuid') ? (posix_getpwuid(posix_geteuid())['name'] ?? 'root') : 'root';
        $server = new BridgeServer(TestEnv::freePort(), [
            '-d', 'ffi.enable=preload',
            '-d', 'ffi.preload=' . $header,
            '-d', 'opcache.enable=1',
            '-d', 'opcache.preload=' . TestEnv::bridgeDir() . '/preload.php',
            '-d', 'opcache.preload_user=' . $user,
            '-d', 'display_errors=0',
        ], TestEnv::childEnv(), $dir . '/php-preload-server-' . getmypid() . '.log');
        try {
            [$body, $headers, $text, $username] = TestEnv::freshTextUpdate('через предзагруженную библиотеку');
            $url = $server->url('/webhook.php?channel=' . TestEnv::channel()['id']);
            $response = TestEnv::http('POST', $url, $headers, $body);
            $log = $server->log();
        } finally {
            $server->stop();
            unlink($header);
        }

        $this->assertSame(200, $response['status'], $log);
        $this->assertSame($text, TestEnv::dialogsOf($username)[0]['last_message']['text'] ?? null);
    }
}
