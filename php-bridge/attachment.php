<?php
/**
 * Streams a stored attachment to an operator: <public_base_url>/attachment.php?id=<attachment_id>.
 *
 * The library checks that the operator may see the attachment's dialog (attachments.get) and gives the
 * file's path on disk; this script sends it with Content-Type, Content-Length and a Content-Disposition
 * whose filename* keeps UTF-8 names (RFC 5987). ?download=1 forces a download.
 *
 * Who the operator is:
 *   - inside the CRM: $GLOBALS['iduser1'], set by the CRM's auth (lib/host-session.php in the package);
 *   - DEMO ONLY, and only under PHP's built-in server (php -S, never used in production): the operator
 *     picked on demo/index.php (session), or ?operator_id=N. Any other SAPI without a CRM user gets 403.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

// Inside the CRM plugin package: the CRM's session, at global scope (scripts/package.sh writes it).
if (is_file(__DIR__ . '/lib/host-session.php')) {
    require_once __DIR__ . '/lib/host-session.php';
}

require_once __DIR__ . '/lib/http.php';
require_once __DIR__ . '/Crmchats.php';

/** The signed-in operator, or null. */
$operatorId = (static function (): ?int {
    if (isset($GLOBALS['iduser1']) && (int)$GLOBALS['iduser1'] > 0) {
        return (int)$GLOBALS['iduser1'];
    }
    if (PHP_SAPI !== 'cli-server') {
        return null;
    }
    // Demo only (see the file comment).
    if (session_status() === PHP_SESSION_NONE) {
        session_start(['read_and_close' => true]);
    }
    $demo = $_SESSION['crmchats_demo_operator'] ?? ($_GET['operator_id'] ?? null);
    return is_numeric($demo) && (int)$demo > 0 ? (int)$demo : null;
})();

$query = crmchats_parse_query((string)($_SERVER['QUERY_STRING'] ?? ''));
$attachmentId = $query['id'] ?? '';
if ($attachmentId === '' || !ctype_digit($attachmentId)) {
    crmchats_send_text(400, 'attachment id missing');
    return;
}
if ($operatorId === null) {
    crmchats_send_text(403, 'sign in to the CRM first');
    return;
}

try {
    $result = Crmchats::shared()->call('attachments.get', [
        'attachment_id' => (int)$attachmentId,
        'operator_id' => $operatorId,
    ]);
} catch (CrmchatsException $e) {
    $status = crmchats_status_for_error($e->getErrorCode());
    if ($status >= 500) {
        error_log('crmchats attachment.php: ' . $e->getErrorCode() . ': ' . $e->getMessage());
    }
    crmchats_send_text($status, $status >= 500 ? 'attachment unavailable' : $e->getErrorCode());
    return;
}

$attachment = is_array($result['attachment'] ?? null) ? $result['attachment'] : [];
$path = (string)($attachment['path'] ?? '');
if ($path === '' || !is_file($path) || !is_readable($path)) {
    error_log("crmchats attachment.php: file of attachment $attachmentId missing on disk: $path");
    crmchats_send_text(404, 'file missing');
    return;
}

$mime = (string)($attachment['mime'] ?? '');
if ($mime === '' || !preg_match('~^[\w.+-]+/[\w.+-]+$~', $mime)) {
    $mime = 'application/octet-stream';
}
$inline = crmchats_is_inline_mime($mime) && ($query['download'] ?? '') !== '1';

while (ob_get_level() > 0) {
    ob_end_clean();
}
header_remove('X-Powered-By');
header('Content-Type: ' . $mime);
header('Content-Length: ' . (string)filesize($path));
header('Content-Disposition: ' . crmchats_content_disposition((string)($attachment['name'] ?? 'file'), $inline));
header('X-Content-Type-Options: nosniff');
header("Content-Security-Policy: default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox");
header('Cache-Control: private, max-age=86400');
readfile($path);
