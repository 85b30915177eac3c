<?php
/**
 * The one place the library's init() configuration comes from. Returns the init array.
 *
 * Sources, later ones winning:
 *   1. environment variables (unset ones are left out so the library's defaults apply):
 *        CRMCHATS_DATABASE_URL      database_url   mysql://user:pass@host:3306/db or
 *                                                  mysql://root@localhost/db?socket=/run/mysqld/mysqld.sock
 *        CRMCHATS_TABLE_PREFIX      table_prefix   (library default app_)
 *        CRMCHATS_IDENTITY          identity       (library default 1)
 *        CRMCHATS_STORAGE_DIR       storage_dir    where attachments are kept
 *        CRMCHATS_PUBLIC_BASE_URL   public_base_url  URL of this folder as providers reach it;
 *                                                  when unset, guessed from the current web request
 *        CRMCHATS_TELEGRAM_API_BASE providers.telegram.api_base (tests point it at a fake Bot API);
 *        likewise CRMCHATS_VIBER_API_BASE, _VK_, _FACEBOOK_, _CHATAPI_, _WHATSAPP_CLOUD_API_BASE
 *        CRMCHATS_HTTP_PROXY        http_proxy
 *        CRMCHATS_LOG_FILE          log_file
 *        CRMCHATS_LOG_LEVEL         log_level
 *   2. config.local.php beside this file, when present: returns an array merged over the above
 *      (env CRMCHATS_CONFIG names another file instead; CRMCHATS_CONFIG=none ignores it).
 */

declare(strict_types=1);

require_once __DIR__ . '/lib/http.php';

return (static function (): array {
    $env = static function (string $name): ?string {
        $value = getenv($name);
        return is_string($value) && $value !== '' ? $value : null;
    };

    $config = array_filter([
        'database_url' => $env('CRMCHATS_DATABASE_URL'),
        'table_prefix' => $env('CRMCHATS_TABLE_PREFIX'),
        'identity' => $env('CRMCHATS_IDENTITY') !== null ? (int)$env('CRMCHATS_IDENTITY') : null,
        'storage_dir' => $env('CRMCHATS_STORAGE_DIR'),
        'public_base_url' => $env('CRMCHATS_PUBLIC_BASE_URL')
            ?? (PHP_SAPI === 'cli' ? null : crmchats_guess_base_url($_SERVER, __DIR__)),
        'http_proxy' => $env('CRMCHATS_HTTP_PROXY'),
        'log_file' => $env('CRMCHATS_LOG_FILE'),
        'log_level' => $env('CRMCHATS_LOG_LEVEL'),
    ], static fn ($value): bool => $value !== null);

    // CRMCHATS_<TYPE>_API_BASE points a messenger's API elsewhere (tests and the demo use fakes).
    foreach (['telegram', 'viber', 'vk', 'facebook', 'chatapi', 'whatsapp_cloud'] as $type) {
        $apiBase = $env('CRMCHATS_' . strtoupper($type) . '_API_BASE');
        if ($apiBase !== null) {
            $config['providers'][$type]['api_base'] = $apiBase;
        }
    }

    $localFile = $env('CRMCHATS_CONFIG') ?? __DIR__ . '/config.local.php';
    if ($localFile !== 'none' && is_file($localFile)) {
        $local = require $localFile;
        if (!is_array($local)) {
            throw new RuntimeException("$localFile must return an array");
        }
        $config = array_replace_recursive($config, $local);
    }
    return $config;
})();
