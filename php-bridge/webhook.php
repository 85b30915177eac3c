<?php
/**
 * Webhook endpoint the messengers call: <public_base_url>/webhook.php?channel=<id>.
 *
 * Hands method, headers, raw query and raw body to the library and sends back exactly what it answers
 * (the library verifies signatures, answers confirmation handshakes and stores the events). When the
 * library cannot be reached or fails, the answer is 500 so that the provider delivers the update again.
 */

declare(strict_types=1);

// Nothing but the library's answer may reach the provider: no warnings in the body.
ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/lib/http.php';
require_once __DIR__ . '/Crmchats.php';

$request = crmchats_webhook_request($_SERVER);
if ($request === null) {
    crmchats_send_text(404, 'unknown channel');
    return;
}

try {
    $body = file_get_contents('php://input');
    $response = Crmchats::shared()->handleWebhook($request, $body === false ? '' : $body);
} catch (Throwable $e) {
    $code = $e instanceof CrmchatsException ? $e->getErrorCode() : get_class($e);
    error_log(sprintf('crmchats webhook.php channel %d: %s: %s', $request['channel_id'], $code, $e->getMessage()));
    crmchats_send_text(500, 'temporary failure, retry later');
    return;
}

crmchats_send_response($response);

// Housekeeping after the messenger has its answer (PHP-FPM closes the connection first).
if (function_exists('fastcgi_finish_request')) {
    fastcgi_finish_request();
}
Crmchats::shared()->tickIfDue();
