<?php

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

require_once __DIR__ . '/../../php-bridge/lib/console.php';

/**
 * The console's and the widget's pure PHP parts: who may embed the widget, the CSRF check, the
 * language, the error statuses the console's JSON carries. No library.
 */
final class ConsoleHelpersTest extends TestCase
{
    protected function tearDown(): void
    {
        unset($GLOBALS['language'], $_COOKIE['crmchats_lang'], $_SESSION['crmchats_csrf']);
    }

    public function testWidgetOriginsAreAllowedByTheChannelsListOrAnyWhenEmpty(): void
    {
        $this->assertTrue(crmchats_widget_origin_allowed('https://shop.example.com', ''));
        $this->assertTrue(crmchats_widget_origin_allowed('https://shop.example.com', ' * '));
        $list = 'https://shop.example.com, http://localhost:8080/  https://other.example';
        $this->assertTrue(crmchats_widget_origin_allowed('https://shop.example.com', $list));
        $this->assertTrue(crmchats_widget_origin_allowed('HTTPS://Shop.Example.com', $list));
        $this->assertTrue(crmchats_widget_origin_allowed('http://localhost:8080', $list));
        $this->assertTrue(crmchats_widget_origin_allowed('https://other.example', $list));
    }

    public function testWidgetOriginsRefuseOtherSchemesPortsAndLookalikes(): void
    {
        $list = 'https://shop.example.com,http://localhost:8080';
        $this->assertFalse(crmchats_widget_origin_allowed('http://shop.example.com', $list));
        $this->assertFalse(crmchats_widget_origin_allowed('https://shop.example.com.evil.test', $list));
        $this->assertFalse(crmchats_widget_origin_allowed('http://localhost:8081', $list));
        $this->assertFalse(crmchats_widget_origin_allowed('null', $list));
    }

    public function testCsrfTokenMustMatchTheSessionsOneInTheHeader(): void
    {
        $_SESSION['crmchats_csrf'] = 'a1b2c3';
        $this->assertTrue(crmchats_csrf_valid(['HTTP_X_CSRF_TOKEN' => 'a1b2c3']));
        $this->assertFalse(crmchats_csrf_valid(['HTTP_X_CSRF_TOKEN' => 'a1b2c4']));
        $this->assertFalse(crmchats_csrf_valid([]));
        $_SESSION['crmchats_csrf'] = '';
        $this->assertFalse(crmchats_csrf_valid(['HTTP_X_CSRF_TOKEN' => '']), 'no token made yet: nothing passes');
    }

    public function testLanguageFollowsTheCrmThenTheSwitchAndDefaultsToRussian(): void
    {
        $this->assertSame('ru', crmchats_language());
        $this->assertNull(crmchats_crm_language(), 'the switch is shown');
        $_COOKIE['crmchats_lang'] = 'en';
        $this->assertSame('en', crmchats_language());
        $GLOBALS['language'] = 'ru_RU';
        $this->assertSame('ru', crmchats_language(), 'the CRM user\'s language wins over the switch');
        $this->assertSame('ru', crmchats_crm_language(), 'the switch is hidden');
        $GLOBALS['language'] = 'de';
        $this->assertSame('en', crmchats_language(), 'a language we lack falls through to the switch');
    }

    public function testDemoSignInExistsOnlyUnderTheBuiltInServer(): void
    {
        $this->assertSame(PHP_SAPI === 'cli-server', crmchats_demo_login_allowed());
        $this->assertFalse(crmchats_demo_login_allowed(), 'PHPUnit runs in the CLI: no demo sign-in');
    }

    public function testErrorCodesMapToTheStatusesTheConsoleShows(): void
    {
        $this->assertSame(403, crmchats_status_for_error('forbidden'));
        $this->assertSame(404, crmchats_status_for_error('not_found'));
        $this->assertSame(409, crmchats_status_for_error('window_closed'));
        $this->assertSame(400, crmchats_status_for_error('invalid_argument'));
        $this->assertSame(500, crmchats_status_for_error('storage_error'));
    }

    public function testUploadedFilesKeepTheirDataAndGetASafeNameAndType(): void
    {
        $this->assertSame(
            ['data_base64' => 'AAEC', 'name' => '.._.._etc_passwd', 'mime' => 'application/octet-stream'],
            crmchats_upload_from_json(['data_base64' => 'AAEC', 'name' => '../../etc/passwd', 'mime' => "text/html\r\nX: y"]),
        );
        $this->assertSame(
            ['data_base64' => 'AAEC', 'name' => 'счёт.pdf', 'mime' => 'application/pdf'],
            crmchats_upload_from_json(['data_base64' => 'AAEC', 'name' => ' счёт.pdf ', 'mime' => 'application/pdf']),
        );
        $this->assertSame('file', crmchats_upload_from_json(['data_base64' => '', 'name' => ''])['name']);
        $this->assertNull(crmchats_upload_from_json(['name' => 'x.png']));
        $this->assertNull(crmchats_upload_from_json('AAEC'));
    }

    public function testABodyOverOurLimitOrPhpsPostMaxSizeIsRefusedWithTheReason(): void
    {
        $this->assertSame(8 << 20, crmchats_ini_bytes('8M'));
        $this->assertSame(1 << 30, crmchats_ini_bytes('1G'));
        $this->assertSame(512, crmchats_ini_bytes('512'));
        $this->assertNull(crmchats_body_too_large(1000, 2000));
        $this->assertStringContainsString('post_max_size', (string)crmchats_body_too_large(2 << 20, 40 << 20, '1M'));
        $this->assertNull(crmchats_body_too_large(1000, 40 << 20, '1M'));
        $this->assertNull(crmchats_body_too_large(50 << 20, 60 << 20, '0'), 'post_max_size 0: no PHP limit');
        $this->assertStringNotContainsString('post_max_size', (string)crmchats_body_too_large(3000, 2000, '8M'));
    }
}
