<?php
/**
 * JSON endpoint of the operator console and the settings pages: api.php?action=NAME.
 *
 * Every action maps to library calls made for the signed-in operator (lib/console.php says who that
 * is). Reads are GET; everything that changes state is POST with a JSON body and the session's CSRF
 * token in the X-CSRF-Token header. Replies are {"ok":true,"result":...} or
 * {"ok":false,"error":{"code","message"}} with the HTTP status of crmchats_status_for_error().
 *
 * action=poll is the console's long poll: it waits at most 25 s (2 s under php -S, see
 * crmchats_poll_max_seconds()) for something new for this operator
 * (the library's events.poll) and answers {"cursor","messages","events","dialog_ids"}. The session lock
 * is released before any library call, so a waiting poll holds up no other request of the same user.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/lib/console.php';
require_once __DIR__ . '/Crmchats.php';

/** Largest JSON body accepted (a message with attachments travels as base64). */
const CRMCHATS_MAX_BODY = 60 * 1024 * 1024;

final class ApiError extends RuntimeException
{
    public function __construct(public readonly int $status, public readonly string $errorCode, string $message)
    {
        parent::__construct($message);
    }
}

/** @return array<string, mixed> the JSON body of a POST */
function api_body(): array
{
    $tooLarge = crmchats_body_too_large((int)($_SERVER['CONTENT_LENGTH'] ?? 0), CRMCHATS_MAX_BODY);
    if ($tooLarge !== null) {
        throw new ApiError(413, 'file_too_large', $tooLarge);
    }
    $raw = file_get_contents('php://input');
    if ($raw === false || $raw === '') {
        return [];
    }
    try {
        $body = json_decode($raw, true, 64, JSON_THROW_ON_ERROR);
    } catch (JsonException $e) {
        throw new ApiError(400, 'invalid_argument', 'the body is not JSON: ' . $e->getMessage());
    }
    if (!is_array($body)) {
        throw new ApiError(400, 'invalid_argument', 'the body must be a JSON object');
    }
    return $body;
}

/** A positive integer parameter; throws invalid_argument naming it when absent or malformed. */
function api_id(array $source, string $name): int
{
    $value = $source[$name] ?? null;
    if (is_int($value) && $value > 0) {
        return $value;
    }
    if (is_string($value) && ctype_digit($value) && strlen($value) <= 18 && (int)$value > 0) {
        return (int)$value;
    }
    throw new ApiError(400, 'invalid_argument', "$name: a positive integer is required");
}

function api_optional_id(array $source, string $name): ?int
{
    return array_key_exists($name, $source) && $source[$name] !== null && $source[$name] !== '' ? api_id($source, $name) : null;
}

function api_string(array $source, string $name, int $max = 10000): string
{
    $value = $source[$name] ?? '';
    if (!is_string($value) && !is_int($value)) {
        throw new ApiError(400, 'invalid_argument', "$name: a string is required");
    }
    $value = (string)$value;
    if (mb_strlen($value) > $max) {
        throw new ApiError(400, 'invalid_argument', "$name: at most $max characters");
    }
    return $value;
}

/** The operators.list entry of a CRM user, or null. */
function api_user(Crmchats $chats, int $userId): ?array
{
    static $users = null;
    $users ??= $chats->call('operators.list')['operators'] ?? [];
    foreach ($users as $user) {
        if ((int)($user['id'] ?? 0) === $userId) {
            return $user;
        }
    }
    return null;
}

function api_require_admin(Crmchats $chats, int $operatorId): void
{
    if (empty(api_user($chats, $operatorId)['is_admin'])) {
        throw new ApiError(403, 'forbidden', 'only CRM administrators manage the inbox settings and channels');
    }
}

/**
 * The console's long poll: the library's events.poll waits up to $timeoutSeconds for messages and
 * history events this operator may see after $cursor (none: the current cursor, at once).
 *
 * @return array<string, mixed> {"cursor","messages","events","dialog_ids"}
 */
function api_poll(Crmchats $chats, int $operatorId, ?string $cursor, int $timeoutSeconds): array
{
    $params = ['operator_id' => $operatorId, 'timeout_ms' => $timeoutSeconds * 1000];
    if ($cursor !== null && $cursor !== '') {
        $params['cursor'] = $cursor;
    }
    $result = $chats->call('events.poll', $params);
    return is_array($result) ? $result : [];
}

/** @return array{data_base64:string, name:string, mime:string} one file of a console message */
function api_attachment(mixed $file): array
{
    return crmchats_upload_from_json($file)
        ?? throw new ApiError(400, 'invalid_argument', 'attachments: each needs data_base64, name and mime');
}

/** @return mixed the action's result */
function api_dispatch(string $action, string $method, int $me): mixed
{
    $chats = Crmchats::shared();
    $get = crmchats_parse_query((string)($_SERVER['QUERY_STRING'] ?? ''));
    $reads = ['me', 'dialogs', 'dialog', 'messages', 'events', 'poll', 'operators', 'crm_search', 'settings',
        'channels', 'channel_types', 'client_dialogs', 'replies', 'tags', 'message_search', 'report'];
    if (in_array($action, $reads, true)) {
        if ($method !== 'GET') {
            throw new ApiError(405, 'invalid_argument', "$action is a GET request");
        }
        $p = $get;
    } else {
        if ($method !== 'POST') {
            throw new ApiError(405, 'invalid_argument', "$action is a POST request");
        }
        $p = api_body();
    }
    $who = ['operator_id' => $me];

    switch ($action) {
        case 'me':
            $user = api_user($chats, $me);
            if ($user === null) {
                throw new ApiError(403, 'forbidden', "user $me is not a user of this CRM");
            }
            return [
                'operator' => $user,
                'lang' => crmchats_language(),
                'demo' => crmchats_demo_login_allowed() && !isset($GLOBALS['iduser1']),
                'client_card_url' => '/card.client?clid=',
                'contact_card_url' => '/card.contact?pid=',
                'poll_seconds' => crmchats_poll_max_seconds(),
                'version' => $chats->version(),
            ];
        case 'dialogs':
            $request = $who + ['status' => in_array($p['status'] ?? '', ['open', 'closed', 'all'], true) ? $p['status'] : 'all',
                'limit' => 30];
            if (in_array($p['view'] ?? '', ['mine', 'queue', 'all'], true)) {
                $request['view'] = $p['view'];
            }
            if (trim((string)($p['search'] ?? '')) !== '') {
                $request['search'] = api_string($p, 'search', 200);
            }
            if (($p['cursor'] ?? '') !== '') {
                $request['cursor'] = api_string($p, 'cursor', 500);
            }
            if (api_optional_id($p, 'channel_id') !== null) {
                $request['channel_id'] = api_id($p, 'channel_id');
            }
            if (trim((string)($p['tag'] ?? '')) !== '') {
                $request['tag'] = trim(api_string($p, 'tag', 64));
            }
            return $chats->listDialogs($request);
        case 'dialog':
            $id = api_id($p, 'dialog_id');
            $dialog = $chats->call('dialogs.get', $who + ['dialog_id' => $id])['dialog'];
            $messages = $chats->call('messages.list', $who + ['dialog_id' => $id, 'limit' => 50])['messages'];
            $events = $chats->call('dialogs.events', $who + ['dialog_id' => $id, 'limit' => 200])['events'];
            $capabilities = null;
            try {
                $capabilities = $chats->call('channels.schema', ['type' => (string)$dialog['channel']['type']])['capabilities'] ?? null;
            } catch (CrmchatsException) {
                // A channel type this build lacks: no rule to show.
            }
            $tags = $chats->call('dialogs.tags', $who + ['dialog_id' => $id])['tags'] ?? [];
            return ['dialog' => $dialog, 'messages' => $messages, 'events' => $events, 'capabilities' => $capabilities,
                'tags' => $tags];
        case 'messages':
            $request = $who + ['dialog_id' => api_id($p, 'dialog_id'), 'limit' => 50];
            if (api_optional_id($p, 'before_id') !== null) {
                $request['before_id'] = api_id($p, 'before_id');
            }
            return $chats->call('messages.list', $request);
        case 'events':
            return $chats->call('dialogs.events', $who + ['dialog_id' => api_id($p, 'dialog_id'), 'limit' => 200]);
        case 'poll':
            $max = crmchats_poll_max_seconds();
            $timeout = isset($p['timeout']) && ctype_digit($p['timeout']) ? min($max, (int)$p['timeout']) : $max;
            set_time_limit($timeout + 20);
            return api_poll($chats, $me, isset($p['cursor']) ? (string)$p['cursor'] : null, $timeout);
        case 'operators':
            return $chats->call('operators.list');
        case 'crm_search':
            return $chats->call('visitors.search_crm', $who + ['q' => api_string($p, 'q', 200), 'limit' => 20]);
        case 'client_dialogs':
            return $chats->call('clients.dialogs', $who + ['client_id' => api_id($p, 'client_id')]);
        case 'settings':
            return $chats->call('settings.get', $who);
        case 'channels':
            api_require_admin($chats, $me);
            return $chats->call('channels.list');
        case 'channel_types':
            api_require_admin($chats, $me);
            return $chats->call('channels.types');

        case 'replies':
            return $chats->call('replies.list', $who);
        case 'tags':
            return $chats->call('dialogs.tags', $who + ['dialog_id' => api_id($p, 'dialog_id')]);
        case 'message_search':
            $request = $who + ['q' => api_string($p, 'q', 200), 'limit' => 50];
            if (api_optional_id($p, 'channel_id') !== null) {
                $request['channel_id'] = api_id($p, 'channel_id');
            }
            foreach (['from', 'to'] as $key) {
                if (($p[$key] ?? '') !== '') {
                    $request[$key] = api_string($p, $key, 40);
                }
            }
            return $chats->call('messages.search', $request);
        case 'report':
            // Admins see the team; an operator only their own numbers (the library checks it too).
            $request = $who + ['from' => api_string($p, 'from', 40), 'to' => api_string($p, 'to', 40),
                'group_by' => ($p['group_by'] ?? '') === 'week' ? 'week' : 'day'];
            if (api_optional_id($p, 'channel_id') !== null) {
                $request['channel_id'] = api_id($p, 'channel_id');
            }
            if (api_optional_id($p, 'for_operator_id') !== null) {
                $request['for_operator_id'] = api_id($p, 'for_operator_id');
            }
            if (($request['for_operator_id'] ?? null) !== $me) {
                api_require_admin($chats, $me);
            }
            if (api_optional_id($p, 'unanswered_minutes') !== null) {
                $request['unanswered_minutes'] = api_id($p, 'unanswered_minutes');
            }
            return $chats->call('reports.summary', $request);

        case 'read':
            return $chats->call('dialogs.read', $who + ['dialog_id' => api_id($p, 'dialog_id')]);
        case 'send':
            $attachments = array_map('api_attachment', is_array($p['attachments'] ?? null) ? array_values($p['attachments']) : []);
            return $chats->sendMessage($who + ['dialog_id' => api_id($p, 'dialog_id'), 'text' => api_string($p, 'text', 20000),
                'attachments' => $attachments]);
        case 'take': case 'join': case 'leave': case 'close': case 'reopen':
            return $chats->call('dialogs.' . $action, $who + ['dialog_id' => api_id($p, 'dialog_id')]);
        case 'transfer':
            $request = $who + ['dialog_id' => api_id($p, 'dialog_id'), 'to_operator_id' => api_id($p, 'to_operator_id')];
            $note = trim(api_string($p, 'note', 1000));
            if ($note !== '') {
                $request['note'] = $note;
            }
            return $chats->call('dialogs.transfer', $request);
        case 'reply_create': case 'reply_update':
            $request = $who;
            if ($action === 'reply_update') {
                $request['reply_id'] = api_id($p, 'reply_id');
            }
            foreach (['code' => 64, 'title' => 200, 'text' => 5000] as $key => $max) {
                if (array_key_exists($key, $p)) {
                    $request[$key] = api_string($p, $key, $max);
                }
            }
            if (array_key_exists('shared', $p)) {
                $request['shared'] = (bool)$p['shared'];
            }
            return $chats->call($action === 'reply_create' ? 'replies.create' : 'replies.update', $request);
        case 'reply_delete':
            return $chats->call('replies.delete', $who + ['reply_id' => api_id($p, 'reply_id')]);
        case 'reply_render':
            return $chats->call('replies.render', $who + ['reply_id' => api_id($p, 'reply_id'), 'dialog_id' => api_id($p, 'dialog_id')]);
        case 'note':
            return $chats->call('notes.add', $who + ['dialog_id' => api_id($p, 'dialog_id'), 'text' => api_string($p, 'text', 20000)]);
        case 'tag': case 'untag':
            return $chats->call('dialogs.' . $action, $who + ['dialog_id' => api_id($p, 'dialog_id'), 'tag' => api_string($p, 'tag', 64)]);
        case 'delete_message':
            return $chats->call('messages.delete', $who + ['message_id' => api_id($p, 'message_id')]);
        case 'link':
            $request = $who + ['visitor_id' => api_id($p, 'visitor_id')];
            if (api_optional_id($p, 'client_id') !== null) {
                $request['client_id'] = api_id($p, 'client_id');
            } else {
                $request['contact_id'] = api_id($p, 'contact_id');
            }
            return $chats->call('visitors.link', $request);
        case 'unlink': case 'create_client': case 'create_contact': case 'refresh_profile':
            $method = ['unlink' => 'visitors.unlink', 'create_client' => 'visitors.create_client',
                'create_contact' => 'visitors.create_contact', 'refresh_profile' => 'visitors.refresh_profile'][$action];
            return $chats->call($method, $who + ['visitor_id' => api_id($p, 'visitor_id')]);
        case 'heartbeat':
            return $chats->call('operators.heartbeat', $who);
        case 'set_status':
            return $chats->call('operators.set_status', $who + ['status' => api_string($p, 'status', 20)]);
        case 'settings_set':
            if (!is_array($p['settings'] ?? null)) {
                throw new ApiError(400, 'invalid_argument', 'settings: an object is required');
            }
            return $chats->call('settings.set', $who + ['settings' => $p['settings']]);
        case 'operators_add': case 'operators_remove':
            $ids = array_map(static fn ($id) => api_id(['user_ids' => $id], 'user_ids'), is_array($p['user_ids'] ?? null) ? $p['user_ids'] : []);
            return $chats->call($action === 'operators_add' ? 'operators.add' : 'operators.remove', $who + ['user_ids' => $ids]);
        case 'channel_check': case 'channel_create': case 'channel_update':
            api_require_admin($chats, $me);
            $request = ['settings' => is_array($p['settings'] ?? null) ? $p['settings'] : []];
            foreach (['type', 'name', 'token'] as $key) {
                if (isset($p[$key]) && is_string($p[$key])) {
                    $request[$key] = trim($p[$key]);
                }
            }
            if ($action === 'channel_update') {
                $request['channel_id'] = api_id($p, 'channel_id');
                unset($request['type']);
            }
            if ($action === 'channel_check') {
                unset($request['name']);
            }
            return $chats->call(str_replace('channel_', 'channels.', $action), $request);
        case 'import_preview': case 'import_run':
            api_require_admin($chats, $me);
            // Inside the CRM the old plugin's files sit under the CRM's root folder.
            $request = $who + ['dry_run' => $action === 'import_preview'];
            $root = $GLOBALS['rootpath'] ?? null;
            if (is_string($root) && $root !== '' && is_dir($root)) {
                $request['files_root'] = $root;
            }
            return $chats->call('import.socialchats', $request);
        case 'channel_delete': case 'channel_health':
            api_require_admin($chats, $me);
            return $chats->call(str_replace('channel_', 'channels.', $action), ['channel_id' => api_id($p, 'channel_id')]);
    }
    throw new ApiError(400, 'unknown_method', "no action `$action`");
}

// ---- request ------------------------------------------------------------------------------------

$query = crmchats_parse_query((string)($_SERVER['QUERY_STRING'] ?? ''));
$action = (string)($query['action'] ?? '');
$method = strtoupper((string)($_SERVER['REQUEST_METHOD'] ?? 'GET'));

crmchats_session_start();

// Demo sign-in (PHP's built-in server only): pick a CRM user.
if ($action === 'demo_login' || $action === 'logout' || $action === 'demo_users') {
    if (!crmchats_demo_login_allowed()) {
        crmchats_send_error(404, 'not_found', 'no such action here: sign in to the CRM');
        return;
    }
    if ($action === 'demo_users') {
        try {
            $users = Crmchats::shared()->call('operators.list')['operators'] ?? [];
            crmchats_send_ok(['operators' => array_map(static fn (array $u): array => [
                'id' => $u['id'], 'name' => $u['name'], 'login' => $u['login'], 'is_admin' => $u['is_admin'],
            ], $users)]);
        } catch (CrmchatsException $e) {
            crmchats_send_library_error($e, 'api.php demo_users');
        }
        return;
    }
    if ($method !== 'POST') {
        crmchats_send_error(405, 'invalid_argument', "$action is a POST request");
        return;
    }
    // The sign-in form's token is bound to "nobody yet"; afterwards to the operator.
    if (!crmchats_csrf_valid($_SERVER)) {
        crmchats_send_error(403, 'csrf', 'the page expired: reload it');
        return;
    }
    try {
        if ($action === 'logout') {
            unset($_SESSION['crmchats_demo_operator']);
        } else {
            $id = api_id(api_body(), 'operator_id');
            if (api_user(Crmchats::shared(), $id) === null) {
                throw new ApiError(404, 'not_found', "user $id is not a user of this CRM");
            }
            session_regenerate_id(true);
            $_SESSION['crmchats_demo_operator'] = $id;
        }
        crmchats_send_ok(['operator_id' => crmchats_current_operator(), 'csrf' => crmchats_csrf_token()]);
    } catch (ApiError $e) {
        crmchats_send_error($e->status, $e->errorCode, $e->getMessage());
    } catch (CrmchatsException $e) {
        crmchats_send_library_error($e, "api.php $action");
    }
    return;
}

$me = crmchats_current_operator();
if ($me === null) {
    crmchats_send_error(401, 'unauthorized', 'sign in to the CRM first');
    return;
}
if ($method !== 'GET' && !crmchats_csrf_valid($_SERVER)) {
    crmchats_send_error(403, 'csrf', 'the page expired or the request did not come from it: reload the page');
    return;
}
// Nothing below writes the session: release its lock so a waiting poll holds up no other request.
session_write_close();

try {
    $result = api_dispatch($action, $method, $me);
    crmchats_send_ok($result);
} catch (ApiError $e) {
    crmchats_send_error($e->status, $e->errorCode, $e->getMessage());
} catch (CrmchatsException $e) {
    crmchats_send_library_error($e, "api.php $action");
} catch (Throwable $e) {
    error_log("crmchats api.php $action: " . get_class($e) . ': ' . $e->getMessage());
    crmchats_send_error(500, 'internal_error', 'internal error; see the server log');
}

if (function_exists('fastcgi_finish_request')) {
    fastcgi_finish_request();
}
if ($action !== 'poll') {
    try {
        Crmchats::shared()->tickIfDue();
    } catch (Throwable) {
        // Housekeeping never fails a request.
    }
}
