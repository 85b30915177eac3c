<?php
/**
 * Small HTTP helpers shared by the php-bridge entry points (webhook.php, attachment.php, demo/).
 *
 * Plain functions without side effects on load, so tests can require this file and call them with a
 * hand-made $_SERVER array.
 */

declare(strict_types=1);

/**
 * Parses a raw query string keeping the keys exactly as sent.
 *
 * PHP's own $_GET/parse_str() turn "hub.mode" into "hub_mode" and "a[]" into nested arrays, which
 * breaks providers whose verification parameters contain dots (Facebook's hub.mode, hub.challenge).
 * Here keys stay raw (only percent-decoded) and values are url-decoded ('+' means a space); when a key
 * repeats, the last value wins, as the providers we talk to never repeat one.
 *
 * @return array<string, string>
 */
function crmchats_parse_query(string $queryString): array
{
    $result = [];
    foreach (explode('&', $queryString) as $pair) {
        if ($pair === '') {
            continue;
        }
        $eq = strpos($pair, '=');
        $rawKey = $eq === false ? $pair : substr($pair, 0, $eq);
        $rawValue = $eq === false ? '' : substr($pair, $eq + 1);
        $key = urldecode($rawKey);
        if ($key === '') {
            continue;
        }
        $result[$key] = urldecode($rawValue);
    }
    return $result;
}

/**
 * Request headers of the current request as "Name" => "value".
 *
 * getallheaders() exists under Apache, FPM and the built-in server; under other SAPIs the headers are
 * rebuilt from $server's HTTP_* entries (plus CONTENT_TYPE/CONTENT_LENGTH, which PHP stores without
 * the prefix). Header names are case-insensitive; the library compares them that way.
 *
 * @param array<string, mixed> $server usually $_SERVER
 * @return array<string, string>
 */
function crmchats_request_headers(array $server, bool $useGetAllHeaders = true): array
{
    if ($useGetAllHeaders && function_exists('getallheaders')) {
        $headers = getallheaders();
        if (is_array($headers)) {
            return array_map('strval', $headers);
        }
    }
    $headers = [];
    foreach ($server as $name => $value) {
        if (!is_string($name) || !is_scalar($value)) {
            continue;
        }
        if (str_starts_with($name, 'HTTP_')) {
            $headerName = substr($name, 5);
        } elseif ($name === 'CONTENT_TYPE' || $name === 'CONTENT_LENGTH') {
            $headerName = $name;
        } else {
            continue;
        }
        $headerName = str_replace(' ', '-', ucwords(strtolower(str_replace('_', ' ', $headerName))));
        $headers[$headerName] = (string)$value;
    }
    return $headers;
}

/**
 * Builds the handle_webhook request for the current HTTP request.
 *
 * The channel id comes from the raw query string (?channel=N), which the library put into the
 * webhook URL it registered with the provider. Returns null when the URL carries no valid channel id.
 *
 * @param array<string, mixed> $server usually $_SERVER
 * @return array{channel_id:int, method:string, headers:array<string,string>, query:array<string,string>}|null
 */
function crmchats_webhook_request(array $server, bool $useGetAllHeaders = true): ?array
{
    $query = crmchats_parse_query((string)($server['QUERY_STRING'] ?? ''));
    $channel = $query['channel'] ?? '';
    if ($channel === '' || !ctype_digit($channel) || strlen($channel) > 18 || (int)$channel <= 0) {
        return null;
    }
    return [
        'channel_id' => (int)$channel,
        'method' => strtoupper((string)($server['REQUEST_METHOD'] ?? 'GET')),
        'headers' => crmchats_request_headers($server, $useGetAllHeaders),
        'query' => $query,
    ];
}

/**
 * Sends a library-built HTTP response (handle_webhook's result) exactly as given: status, headers, body.
 *
 * PHP's default Content-Type and X-Powered-By are removed so that only the library's headers go out.
 * A header value may be a list, sent as repeated headers.
 *
 * @param array{status?:int, headers?:array<string, string|list<string>>, body?:string} $response
 */
function crmchats_send_response(array $response): void
{
    ini_set('default_mimetype', '');
    header_remove('X-Powered-By');
    http_response_code((int)($response['status'] ?? 200));
    foreach ($response['headers'] ?? [] as $name => $value) {
        $name = (string)$name;
        // header() refuses CR/LF itself; a name with ':' or spaces would smuggle another header.
        if ($name === '' || strpbrk($name, ": \r\n") !== false) {
            continue;
        }
        foreach ((array)$value as $i => $one) {
            header($name . ': ' . (string)$one, $i === 0);
        }
    }
    echo (string)($response['body'] ?? '');
}

/** Sends a short plain-text answer (errors of the bridge itself, never the library's detail). */
function crmchats_send_text(int $status, string $text): void
{
    header_remove('X-Powered-By');
    http_response_code($status);
    header('Content-Type: text/plain; charset=utf-8');
    header('Cache-Control: no-store');
    echo $text, "\n";
}

/**
 * Content-Disposition value for a file name that may hold any UTF-8 (RFC 6266 with RFC 5987's filename*).
 *
 * The quoted filename= is an ASCII fallback for old clients; filename* carries the exact name.
 */
function crmchats_content_disposition(string $fileName, bool $inline = false): string
{
    $fileName = str_replace(["\r", "\n", "\0", '/', '\\'], ['', '', '', '_', '_'], $fileName);
    if ($fileName === '') {
        $fileName = 'file';
    }
    // One '_' per character (per byte when the name is not valid UTF-8).
    $fallback = preg_replace('/[^\x20-\x7E]/u', '_', $fileName) ?? preg_replace('/[^\x20-\x7E]/', '_', $fileName) ?? 'file';
    $fallback = str_replace(['"', '%'], '_', $fallback);
    return ($inline ? 'inline' : 'attachment')
        . '; filename="' . $fallback . '"'
        . "; filename*=UTF-8''" . rawurlencode($fileName);
}

/**
 * Whether a MIME type is safe to show inline in the browser on our own origin.
 *
 * Everything else (HTML, SVG, scripts...) is served as a download so a visitor's file can never run
 * as a page of the CRM.
 */
function crmchats_is_inline_mime(string $mime): bool
{
    $mime = strtolower(trim(explode(';', $mime, 2)[0]));
    return in_array($mime, [
        'image/jpeg', 'image/png', 'image/gif', 'image/webp',
        'audio/mpeg', 'audio/ogg', 'audio/mp4', 'video/mp4', 'video/webm',
        'text/plain',
    ], true);
}

/** HTTP status for a library error code (attachment.php and the demo's JSON endpoints). */
function crmchats_status_for_error(string $code): int
{
    return match ($code) {
        'invalid_argument' => 400,
        'forbidden' => 403,
        'not_found' => 404,
        'rate_limited' => 429,
        'unknown_method' => 400,
        'visitor_blocked', 'window_closed', 'provider_rejected' => 409,
        'provider_unavailable', 'provider_unauthorized' => 502,
        default => 500,
    };
}

/**
 * Base URL under which the php-bridge folder is served, derived from the current request.
 *
 * Used only when CRMCHATS_PUBLIC_BASE_URL is not configured. Behind a reverse proxy that terminates
 * TLS, configure the URL explicitly: the request alone cannot tell the public scheme.
 *
 * @param array<string, mixed> $server usually $_SERVER
 */
function crmchats_guess_base_url(array $server, string $bridgeDir): ?string
{
    $host = $server['HTTP_HOST'] ?? null;
    $scriptName = $server['SCRIPT_NAME'] ?? null;
    $scriptFile = $server['SCRIPT_FILENAME'] ?? null;
    if (!is_string($host) || $host === '' || !is_string($scriptName) || !is_string($scriptFile)) {
        return null;
    }
    if (!preg_match('/^[A-Za-z0-9.\-\[\]:]+$/', $host)) {
        return null;
    }
    $bridgeReal = realpath($bridgeDir);
    $scriptReal = realpath($scriptFile);
    if ($bridgeReal === false || $scriptReal === false || !str_starts_with($scriptReal, $bridgeReal . '/')) {
        return null;
    }
    $relative = substr($scriptReal, strlen($bridgeReal));            // "/demo/index.php"
    if (!str_ends_with($scriptName, $relative)) {
        return null;
    }
    $basePath = substr($scriptName, 0, strlen($scriptName) - strlen($relative));
    $https = !empty($server['HTTPS']) && strtolower((string)$server['HTTPS']) !== 'off';
    return ($https ? 'https' : 'http') . '://' . $host . $basePath;
}

/**
 * Whether a page of $origin may call widget.php for a channel whose allowed_origins setting is
 * $allowed: comma- or space-separated origins (scheme://host[:port]); empty or "*" allows any site.
 */
function crmchats_widget_origin_allowed(string $origin, string $allowed): bool
{
    $allowed = trim($allowed);
    if ($allowed === '' || $allowed === '*') {
        return true;
    }
    $origin = rtrim(strtolower($origin), '/');
    foreach (preg_split('/[\s,]+/', strtolower($allowed)) ?: [] as $one) {
        if ($one !== '' && rtrim($one, '/') === $origin) {
            return true;
        }
    }
    return false;
}
