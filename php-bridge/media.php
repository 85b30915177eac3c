<?php
/**
 * Serves a stored file to a messenger that fetches media by URL (Viber):
 * <public_base_url>/media.php?channel=N&id=N&expires=UNIX&signature=HEX.
 *
 * No CRM session here: the messenger's servers call it. The link itself is the credential: the
 * library checks its HMAC (keyed with the channel's secret), its expiry and that the file belongs
 * to that channel's messages (media.open), then this script streams the file.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/lib/http.php';
require_once __DIR__ . '/Crmchats.php';

$query = crmchats_parse_query((string)($_SERVER['QUERY_STRING'] ?? ''));
foreach (['channel', 'id', 'expires'] as $name) {
    if (!ctype_digit($query[$name] ?? '')) {
        crmchats_send_text(400, "$name missing");
        return;
    }
}
try {
    $result = Crmchats::shared()->call('media.open', [
        'channel_id' => (int)$query['channel'],
        'attachment_id' => (int)$query['id'],
        'expires' => (int)$query['expires'],
        'signature' => (string)($query['signature'] ?? ''),
    ]);
} catch (CrmchatsException $e) {
    $status = crmchats_status_for_error($e->getErrorCode());
    if ($status >= 500) {
        error_log('crmchats media.php: ' . $e->getErrorCode() . ': ' . $e->getMessage());
    }
    crmchats_send_text($status, $status >= 500 ? 'media unavailable' : $e->getErrorCode());
    return;
}

$attachment = is_array($result['attachment'] ?? null) ? $result['attachment'] : [];
$path = (string)($attachment['path'] ?? '');
if ($path === '' || !is_file($path) || !is_readable($path)) {
    crmchats_send_text(404, 'file missing');
    return;
}
$mime = (string)($attachment['mime'] ?? '');
if ($mime === '' || !preg_match('~^[\w.+-]+/[\w.+-]+$~', $mime)) {
    $mime = 'application/octet-stream';
}
while (ob_get_level() > 0) {
    ob_end_clean();
}
header_remove('X-Powered-By');
header('Content-Type: ' . $mime);
header('Content-Length: ' . (string)filesize($path));
header('Content-Disposition: ' . crmchats_content_disposition((string)($attachment['name'] ?? 'file'), false));
header('X-Content-Type-Options: nosniff');
header('Cache-Control: private, max-age=3600');
readfile($path);
