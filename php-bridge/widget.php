<?php
/**
 * JSON endpoint of the site chat widget (widget/widget.js): widget.php?action=NAME&channel=N.
 *
 * No CRM session here: a visitor on a website calls it, identified only by the visitor token the
 * library signed (widget.start) and the widget keeps in localStorage. The library checks the token
 * on every call, so one visitor can never read another's conversation.
 *
 *   POST start      {"visitor_token"?}                        -> {"visitor_token","title",...}
 *   POST send       {"visitor_token","text","name"?,"attachments"?:[{data_base64,name,mime}]}
 *   POST messages   {"visitor_token","cursor"?|"after_id"?,"timeout_ms"?} -> {"messages":[...],"cursor"} (waits <= 25 s;
 *                   2 s under php -S, see crmchats_poll_max_seconds())
 *   POST attachment {"visitor_token","attachment_id"}          -> the file's bytes
 *
 * CORS: the widget runs on the company's site, another origin. The channel's allowed_origins setting
 * (comma-separated) names the sites that may call; empty allows any. No cookies are involved.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/lib/console.php';
require_once __DIR__ . '/Crmchats.php';

/** Largest request: the library takes files up to 25 MB, base64 makes them a third larger. */
const CRMCHATS_WIDGET_MAX_BODY = 40 * 1024 * 1024;

$query = crmchats_parse_query((string)($_SERVER['QUERY_STRING'] ?? ''));
$action = (string)($query['action'] ?? '');
$method = strtoupper((string)($_SERVER['REQUEST_METHOD'] ?? 'GET'));
$channel = (string)($query['channel'] ?? '');
if (!ctype_digit($channel) || strlen($channel) > 18 || (int)$channel <= 0) {
    crmchats_send_error(400, 'invalid_argument', 'channel: a positive integer is required');
    return;
}
$channelId = (int)$channel;

try {
    $chats = Crmchats::shared();
    $found = $chats->call('channels.get', ['channel_id' => $channelId])['channel'] ?? [];
} catch (CrmchatsException $e) {
    crmchats_send_library_error($e, 'widget.php', 'chat unavailable, try again later');
    return;
}
if (($found['type'] ?? '') !== 'widget' || empty($found['active'])) {
    crmchats_send_error(404, 'not_found', 'no site chat here');
    return;
}

$origin = (string)($_SERVER['HTTP_ORIGIN'] ?? '');
if ($origin !== '') {
    if (!crmchats_widget_origin_allowed($origin, (string)($found['settings']['allowed_origins'] ?? ''))) {
        crmchats_send_error(403, 'forbidden', 'this site may not use the chat');
        return;
    }
    header('Access-Control-Allow-Origin: ' . $origin);
    header('Vary: Origin');
    header('Access-Control-Allow-Methods: POST, OPTIONS');
    header('Access-Control-Allow-Headers: Content-Type');
    header('Access-Control-Max-Age: 600');
}
if ($method === 'OPTIONS') {
    http_response_code(204);
    return;
}
if ($method !== 'POST') {
    crmchats_send_error(405, 'invalid_argument', 'POST only');
    return;
}
$tooLarge = crmchats_body_too_large((int)($_SERVER['CONTENT_LENGTH'] ?? 0), CRMCHATS_WIDGET_MAX_BODY);
if ($tooLarge !== null) {
    crmchats_send_error(413, 'file_too_large', $tooLarge);
    return;
}
$body = json_decode((string)file_get_contents('php://input'), true);
if (!is_array($body)) {
    crmchats_send_error(400, 'invalid_argument', 'the body must be a JSON object');
    return;
}
$token = is_string($body['visitor_token'] ?? null) ? $body['visitor_token'] : '';
$params = ['channel_id' => $channelId];

try {
    switch ($action) {
        case 'start':
            if ($token !== '') {
                $params['visitor_token'] = $token;
            }
            crmchats_send_ok($chats->call('widget.start', $params));
            break;
        case 'send':
            $params += ['visitor_token' => $token, 'text' => is_string($body['text'] ?? null) ? $body['text'] : ''];
            if (is_string($body['name'] ?? null) && trim($body['name']) !== '') {
                $params['name'] = mb_substr(trim($body['name']), 0, 100);
            }
            $files = [];
            foreach (is_array($body['attachments'] ?? null) ? $body['attachments'] : [] as $file) {
                $files[] = crmchats_upload_from_json($file)
                    ?? throw new CrmchatsException('invalid_argument', 'attachments: each needs data_base64, name and mime');
            }
            if ($files !== []) {
                $params['attachments'] = $files;
            }
            crmchats_send_ok($chats->call('widget.send', $params));
            break;
        case 'messages':
            $params['visitor_token'] = $token;
            if (is_int($body['after_id'] ?? null) && $body['after_id'] > 0) {
                $params['after_id'] = $body['after_id'];
            }
            // The library's own cursor from the last answer (it also brings late replies).
            if (is_string($body['cursor'] ?? null) && $body['cursor'] !== '' && strlen($body['cursor']) <= 500) {
                $params['cursor'] = $body['cursor'];
            }
            $wait = is_int($body['timeout_ms'] ?? null) ? max(0, min(crmchats_poll_max_seconds() * 1000, $body['timeout_ms'])) : 0;
            $params['timeout_ms'] = $wait;
            set_time_limit(intdiv($wait, 1000) + 20);
            crmchats_send_ok($chats->call('widget.messages', $params));
            break;
        case 'attachment':
            $params += ['visitor_token' => $token, 'attachment_id' => is_int($body['attachment_id'] ?? null) ? $body['attachment_id'] : 0];
            $attachment = $chats->call('widget.attachment', $params)['attachment'] ?? [];
            $path = (string)($attachment['path'] ?? '');
            if ($path === '' || !is_file($path)) {
                crmchats_send_error(404, 'not_found', 'file missing');
                break;
            }
            $mime = (string)($attachment['mime'] ?? '');
            if (!preg_match('~^[\w.+-]+/[\w.+-]+$~', $mime)) {
                $mime = 'application/octet-stream';
            }
            header('Content-Type: ' . (crmchats_is_inline_mime($mime) ? $mime : 'application/octet-stream'));
            header('Content-Length: ' . (string)filesize($path));
            header('Content-Disposition: ' . crmchats_content_disposition((string)($attachment['name'] ?? 'file'), false));
            header('X-Content-Type-Options: nosniff');
            header('Cache-Control: private, no-store');
            readfile($path);
            break;
        default:
            crmchats_send_error(400, 'unknown_method', "no action `$action`");
    }
} catch (CrmchatsException $e) {
    crmchats_send_library_error($e, "widget.php $action", 'chat unavailable, try again later');
}
