<?php
/**
 * Who is signed in, the CSRF token and JSON replies: shared by api.php and the console/settings pages.
 *
 * The operator is the CRM's signed-in user ($GLOBALS['iduser1'], set by the CRM's auth before a plugin
 * page runs). Under PHP's built-in server only (the demo, never production) a page lets you pick a CRM
 * user instead, kept in the PHP session as `crmchats_demo_operator` (attachment.php reads the same key).
 *
 * The CSRF token lives in the PHP session and is bound to the operator: a state-changing request sends it
 * in the X-CSRF-Token header, which a cross-site form cannot set.
 */

declare(strict_types=1);

require_once __DIR__ . '/http.php';

// Inside the CRM, the plugin package adds lib/host-session.php: it loads the CRM's own session,
// which sets $GLOBALS['iduser1'] (see plugin/README.md). Run at global scope, as the CRM expects.
if (is_file(__DIR__ . '/host-session.php')) {
    require_once __DIR__ . '/host-session.php';
}

/** Whether the demo's pick-a-user sign-in is available (PHP's built-in server only). */
function crmchats_demo_login_allowed(): bool
{
    return PHP_SAPI === 'cli-server';
}

function crmchats_session_start(): void
{
    if (session_status() === PHP_SESSION_NONE) {
        session_start(['cookie_httponly' => true, 'cookie_samesite' => 'Lax', 'use_strict_mode' => true]);
    }
}

/**
 * Longest wait of one long poll (console and widget), in seconds: 25 under PHP-FPM, well under the
 * usual proxy timeouts. PHP's built-in server (the demo) gets 2: one of its workers may accept a second
 * connection while it reads a request, and that one then waits until the poll in front of it ends.
 */
function crmchats_poll_max_seconds(): int
{
    return PHP_SAPI === 'cli-server' ? 2 : 25;
}

/** The signed-in operator's CRM user id, or null. Starts the session. */
function crmchats_current_operator(): ?int
{
    crmchats_session_start();
    if (isset($GLOBALS['iduser1']) && (int)$GLOBALS['iduser1'] > 0) {
        return (int)$GLOBALS['iduser1'];
    }
    if (!crmchats_demo_login_allowed()) {
        return null;
    }
    $demo = $_SESSION['crmchats_demo_operator'] ?? null;
    return is_numeric($demo) && (int)$demo > 0 ? (int)$demo : null;
}

/** The session's CSRF token for this operator (made on first use). */
function crmchats_csrf_token(): string
{
    crmchats_session_start();
    $operator = (string)(crmchats_current_operator() ?? 0);
    if (!is_string($_SESSION['crmchats_csrf'] ?? null) || ($_SESSION['crmchats_csrf_for'] ?? null) !== $operator) {
        $_SESSION['crmchats_csrf'] = bin2hex(random_bytes(24));
        $_SESSION['crmchats_csrf_for'] = $operator;
    }
    return $_SESSION['crmchats_csrf'];
}

/** Whether the request carries the session's CSRF token in X-CSRF-Token. */
function crmchats_csrf_valid(array $server): bool
{
    $sent = $server['HTTP_X_CSRF_TOKEN'] ?? '';
    $expected = $_SESSION['crmchats_csrf'] ?? '';
    return is_string($sent) && is_string($expected) && $expected !== '' && hash_equals($expected, $sent);
}

/** The CRM user's language when the CRM tells it ($GLOBALS['language']: ru or en), else null. */
function crmchats_crm_language(): ?string
{
    $language = $GLOBALS['language'] ?? null;
    $code = is_string($language) ? strtolower(substr($language, 0, 2)) : '';
    return $code === 'ru' || $code === 'en' ? $code : null;
}

/** The page's language: the CRM user's when known, else the switch's cookie; Russian by default. */
function crmchats_language(): string
{
    $switch = is_string($_COOKIE['crmchats_lang'] ?? null) ? $_COOKIE['crmchats_lang'] : '';
    return crmchats_crm_language() ?? (in_array($switch, ['ru', 'en'], true) ? $switch : 'ru');
}

/** @param array<string, mixed> $data */
function crmchats_send_json(int $status, array $data): void
{
    while (ob_get_level() > 0) {
        ob_end_clean();
    }
    header_remove('X-Powered-By');
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    header('X-Content-Type-Options: nosniff');
    echo json_encode($data, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
}

function crmchats_send_ok(mixed $result): void
{
    crmchats_send_json(200, ['ok' => true, 'result' => $result]);
}

function crmchats_send_error(int $status, string $code, string $message): void
{
    crmchats_send_json($status, ['ok' => false, 'error' => ['code' => $code, 'message' => $message]]);
}

/**
 * Sends a library error as the JSON error reply with its HTTP status (crmchats_status_for_error).
 * Our own failures (5xx that are not the messenger's answer) go to the server log; for callers outside
 * the CRM (a site's visitors) $publicMessage replaces the text of any 5xx.
 */
function crmchats_send_library_error(CrmchatsException $e, string $where, ?string $publicMessage = null): void
{
    $code = $e->getErrorCode();
    $status = crmchats_status_for_error($code);
    if ($status >= 500 && !str_starts_with($code, 'provider_')) {
        error_log("crmchats $where: $code: " . $e->getMessage());
    }
    crmchats_send_error($status, $code, $status >= 500 && $publicMessage !== null ? $publicMessage : $e->getMessage());
}

/**
 * Why a request body of $length bytes cannot be read, or null when it can: over $limit (ours), or over
 * PHP's post_max_size ($postMaxSize: default the php.ini value), past which PHP hands the script an
 * empty body (files travel base64 in JSON, a third larger than the file).
 */
function crmchats_body_too_large(int $length, int $limit, ?string $postMaxSize = null): ?string
{
    $phpLimit = crmchats_ini_bytes($postMaxSize ?? (string)ini_get('post_max_size'));
    $max = $phpLimit > 0 ? min($limit, $phpLimit) : $limit;
    if ($length <= $max) {
        return null;
    }
    return sprintf('the request is %.1f MB; this server takes at most %.1f MB (files travel base64-encoded: a third larger)%s',
        $length / 1048576, $max / 1048576, $max === $phpLimit ? ' — raise PHP\'s post_max_size' : '');
}

/** Bytes of a php.ini size such as "8M" (0 = no limit). */
function crmchats_ini_bytes(string $value): int
{
    $value = trim($value);
    $number = (int)$value;
    return match (strtolower(substr($value, -1))) {
        'g' => $number << 30,
        'm' => $number << 20,
        'k' => $number << 10,
        default => $number,
    };
}

/**
 * A file sent by the console or the widget ({data_base64, name, mime}) as the library takes it: a MIME
 * type of the usual shape (else application/octet-stream), a name without path separators, at most
 * 200 characters. Null when there is no data_base64.
 *
 * @return array{data_base64:string, name:string, mime:string}|null
 */
function crmchats_upload_from_json(mixed $file): ?array
{
    if (!is_array($file) || !is_string($file['data_base64'] ?? null)) {
        return null;
    }
    $mime = is_string($file['mime'] ?? null) && preg_match('~^[\w.+-]+/[\w.+-]+$~', $file['mime'])
        ? $file['mime'] : 'application/octet-stream';
    $name = trim(str_replace(["\0", '/', '\\'], ['', '_', '_'], (string)($file['name'] ?? '')));
    return ['data_base64' => $file['data_base64'], 'name' => $name !== '' ? mb_substr($name, 0, 200) : 'file', 'mime' => $mime];
}

/** Security headers of the HTML pages: no inline scripts, nothing from other origins. */
function crmchats_page_headers(): void
{
    header_remove('X-Powered-By');
    header('Content-Type: text/html; charset=utf-8');
    header('X-Content-Type-Options: nosniff');
    header('Referrer-Policy: same-origin');
    header("Content-Security-Policy: default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'self'");
}

function crmchats_h(mixed $value): string
{
    return htmlspecialchars((string)$value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}
