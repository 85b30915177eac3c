<?php
/**
 * GET: the signed-in user's unread count for the chat button, as JSON:
 *   {"unread": <visitor messages not read in my dialogs and the queue>, "dialogs": <dialogs with unread>,
 *    "latest": {"dialog_id","name","text","at"} | null, "operator": <whether the user answers chats>}
 * Built from list_dialogs (view mine, then queue for operators); panel.js polls it.
 */

declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

header('Content-Type: application/json; charset=utf-8');
header('Cache-Control: no-store');

$crmchatsUser = CrmchatsHost::userId();
if ($crmchatsUser <= 0) {
    http_response_code(401);
    echo '{"error":"not_signed_in"}';
    return;
}

try {
    $lib = CrmchatsPlugin::library();
    $dialogs = [];
    $isOperator = true;
    foreach (['mine', 'queue'] as $view) {
        try {
            $page = $lib->listDialogs(['operator_id' => $crmchatsUser, 'status' => 'open', 'view' => $view, 'limit' => 200]);
        } catch (CrmchatsException $e) {
            if ($view === 'queue' && $e->getErrorCode() === 'forbidden') {
                $isOperator = false;          // only dialogs they were invited to
                continue;
            }
            throw $e;
        }
        foreach ($page['dialogs'] ?? [] as $dialog) {
            $dialogs[(int)$dialog['id']] = $dialog;
        }
    }
    $unread = 0;
    $withUnread = 0;
    $latest = null;
    foreach ($dialogs as $dialog) {
        $count = (int)($dialog['unread'] ?? 0);
        if ($count <= 0) {
            continue;
        }
        $unread += $count;
        $withUnread++;
        $at = (string)($dialog['last_message']['at'] ?? $dialog['updated_at'] ?? '');
        if ($latest === null || strcmp($at, $latest['at']) > 0) {
            $latest = [
                'dialog_id' => (int)$dialog['id'],
                'name' => (string)($dialog['visitor']['name'] ?? ''),
                'text' => mb_substr((string)($dialog['last_message']['text'] ?? ''), 0, 140),
                'at' => $at,
            ];
        }
    }
    echo json_encode(
        ['unread' => $unread, 'dialogs' => $withUnread, 'latest' => $latest, 'operator' => $isOperator],
        JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES,
    );
} catch (Throwable $e) {
    error_log('crmchats unread: ' . $e->getMessage());
    http_response_code(503);
    echo json_encode(['error' => $e instanceof CrmchatsException ? $e->getErrorCode() : 'internal_error']);
}
