<?php
/**
 * crmchats demo inbox: a small page to try the library without the CRM.
 *
 *     php -d ffi.enable=On -S 127.0.0.1:8080 -t php-bridge
 *     open http://127.0.0.1:8080/demo/
 *
 * Configuration comes from ../config.php (env CRMCHATS_* or config.local.php). The operator is picked
 * from a list and kept in the PHP session: demo only, there is no sign-in here. The real console,
 * inside the CRM, takes the signed-in CRM user instead.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/../lib/http.php';
require_once __DIR__ . '/../Crmchats.php';

session_start();
$_SESSION['csrf'] ??= bin2hex(random_bytes(16));
$csrf = (string)$_SESSION['csrf'];

function h(mixed $value): string
{
    return htmlspecialchars((string)$value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
}

/** @param array<string, mixed> $data */
function send_json(int $status, array $data): void
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    echo json_encode($data, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
}

function error_json(Throwable $e): void
{
    $code = $e instanceof CrmchatsException ? $e->getErrorCode() : 'internal';
    $status = $e instanceof CrmchatsException ? crmchats_status_for_error($code) : 500;
    send_json($status, ['error' => ['code' => $code, 'message' => $e->getMessage()]]);
}

function post_is_valid(string $csrf): bool
{
    return $_SERVER['REQUEST_METHOD'] === 'POST' && hash_equals($csrf, (string)($_POST['csrf'] ?? ''));
}

try {
    $chats = Crmchats::shared();
} catch (Throwable $e) {
    // Most often ffi_unavailable (ffi.enable) or library_unavailable: the message says what to set.
    http_response_code(500);
    ?><!doctype html><meta charset="utf-8"><title>crmchats demo</title>
<body style="font:15px system-ui;margin:2rem;max-width:48rem">
<h1>crmchats cannot start</h1>
<p><b><?= h($e instanceof CrmchatsException ? $e->getErrorCode() : get_class($e)) ?></b></p>
<pre style="white-space:pre-wrap;background:#fee;padding:1rem"><?= h($e->getMessage()) ?></pre>
</body><?php
    return;
}

// ?operator=N picks the operator too (demo only: there is no sign-in to protect here), so a link
// such as /demo/?operator=1&dialog=3 opens a given inbox and dialog.
if (isset($_GET['operator']) && ctype_digit((string)$_GET['operator'])) {
    $_SESSION['crmchats_demo_operator'] = (int)$_GET['operator'];
}
$operatorId = (int)($_SESSION['crmchats_demo_operator'] ?? 0);
$api = (string)($_GET['api'] ?? '');

// ---- JSON endpoints used by the page's script -------------------------------------------------------
if ($api !== '') {
    session_write_close();                       // polling must not queue behind the session lock
    if ($operatorId <= 0) {
        send_json(400, ['error' => ['code' => 'invalid_argument', 'message' => 'pick an operator first']]);
        return;
    }
    try {
        if ($api === 'state') {
            // Dialog list (all statuses) plus, when one is open, its messages; opening marks it read.
            $open = (int)($_GET['dialog'] ?? 0);
            $page = $chats->listDialogs(['operator_id' => $operatorId, 'status' => 'all', 'limit' => 50]);
            $messages = [];
            if ($open > 0) {
                $messages = $chats->call('messages.list', ['dialog_id' => $open, 'operator_id' => $operatorId, 'limit' => 50])['messages'] ?? [];
                foreach ($page['dialogs'] as &$dialog) {
                    if ((int)$dialog['id'] === $open && (int)($dialog['unread'] ?? 0) > 0) {
                        $chats->call('dialogs.read', ['dialog_id' => $open, 'operator_id' => $operatorId]);
                        $dialog['unread'] = 0;
                    }
                }
                unset($dialog);
            }
            send_json(200, ['dialogs' => $page['dialogs'] ?? [], 'messages' => $messages]);
        } elseif ($api === 'send' && !post_is_valid($csrf)) {
            send_json(400, ['error' => ['code' => 'invalid_argument', 'message' => 'form expired, reload the page']]);
        } elseif ($api === 'send') {
            $request = [
                'dialog_id' => (int)($_POST['dialog_id'] ?? 0),
                'operator_id' => $operatorId,
                'text' => (string)($_POST['text'] ?? ''),
                'attachments' => [],
            ];
            $file = $_FILES['file'] ?? null;
            if (is_array($file) && ($file['error'] ?? UPLOAD_ERR_NO_FILE) !== UPLOAD_ERR_NO_FILE) {
                if ($file['error'] !== UPLOAD_ERR_OK || !is_uploaded_file($file['tmp_name'])) {
                    send_json(400, ['error' => ['code' => 'invalid_argument', 'message' => 'upload failed (code ' . $file['error'] . ', upload_max_filesize=' . ini_get('upload_max_filesize') . ')']]);
                    return;
                }
                $request['attachments'][] = [
                    'data_base64' => base64_encode((string)file_get_contents($file['tmp_name'])),
                    'name' => (string)$file['name'],
                    'mime' => (function_exists('mime_content_type') ? mime_content_type($file['tmp_name']) : false)
                        ?: 'application/octet-stream',
                ];
            }
            send_json(200, $chats->sendMessage($request));
        } else {
            send_json(400, ['error' => ['code' => 'invalid_argument', 'message' => 'unknown request']]);
        }
    } catch (Throwable $e) {
        error_json($e);
    }
    return;
}

// ---- Form posts: pick operator, create channel (post/redirect/get) ----------------------------------
if (post_is_valid($csrf)) {
    try {
        if (($_POST['action'] ?? '') === 'operator') {
            $_SESSION['crmchats_demo_operator'] = (int)$_POST['operator_id'];
        } elseif (($_POST['action'] ?? '') === 'create_telegram') {
            $channel = $chats->call('channels.create', [
                'type' => 'telegram',
                'name' => trim((string)($_POST['name'] ?? '')),
                'token' => trim((string)($_POST['token'] ?? '')),
                'settings' => [],
            ])['channel'];
            $_SESSION['notice'] = 'Channel created: #' . $channel['id'] . ' ' . $channel['name']
                . ' (webhook: ' . ($channel['webhook']['state'] ?? '?') . ')';
        }
    } catch (CrmchatsException $e) {
        $_SESSION['notice'] = 'Error ' . $e->getErrorCode() . ': ' . $e->getMessage();
    }
    header('Location: ' . strtok((string)$_SERVER['REQUEST_URI'], '?'), true, 303);
    return;
}
$notice = $_SESSION['notice'] ?? null;
unset($_SESSION['notice']);

$problems = [];
try {
    $operators = $chats->call('operators.list')['operators'] ?? [];
} catch (CrmchatsException $e) {
    $operators = [];
    $problems[] = 'operators.list: ' . $e->getErrorCode() . ': ' . $e->getMessage();
}
try {
    $channels = $chats->call('channels.list')['channels'] ?? [];
} catch (CrmchatsException $e) {
    $channels = [];
    $problems[] = 'channels.list: ' . $e->getErrorCode() . ': ' . $e->getMessage();
}
?><!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>crmchats demo</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #222; background: #f4f5f7; }
  header { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: #263445; color: #fff; }
  header h1 { font-size: 1rem; margin: 0; }
  header small { opacity: .7; }
  main { display: grid; grid-template-columns: 16rem 20rem 1fr; height: calc(100vh - 2.6rem); }
  section { overflow: auto; border-right: 1px solid #dde; background: #fff; }
  h2 { font-size: .8rem; text-transform: uppercase; color: #667; margin: .8rem .8rem .4rem; }
  .box { margin: .5rem .8rem; }
  input, button, textarea, select { font: inherit; }
  input[type=text], textarea { width: 100%; padding: .3rem; border: 1px solid #ccd; border-radius: 4px; }
  button { padding: .3rem .8rem; border: 0; border-radius: 4px; background: #2f6fde; color: #fff; cursor: pointer; }
  .channel { padding: .4rem .8rem; border-top: 1px solid #eef; font-size: 13px; }
  .muted { color: #778; font-size: 12px; word-break: break-all; }
  .state-ok { color: #1a7f37; } .state-bad { color: #c62828; }
  .dialog { padding: .5rem .8rem; border-bottom: 1px solid #eef; cursor: pointer; }
  .dialog:hover, .dialog.open { background: #eef3fd; }
  .dialog .top { display: flex; justify-content: space-between; gap: .5rem; }
  .badge { background: #d33; color: #fff; border-radius: 9px; padding: 0 .45rem; font-size: 12px; }
  .closed { opacity: .6; }
  #thread { display: flex; flex-direction: column; background: #f4f5f7; }
  #messages { flex: 1; overflow: auto; padding: 1rem; }
  .msg { max-width: 70%; margin: .3rem 0; padding: .4rem .6rem; border-radius: 8px; background: #fff; white-space: pre-wrap; word-wrap: break-word; }
  .msg.out { margin-left: auto; background: #dcf0ff; }
  .msg.failed { border: 1px solid #c62828; }
  .msg.deleted > div:first-child { text-decoration: line-through; opacity: .6; }
  .msg .meta { font-size: 11px; color: #778; margin-top: .2rem; }
  .msg .err { color: #c62828; font-size: 12px; }
  .msg img { max-width: 240px; max-height: 180px; display: block; margin-top: .3rem; }
  #reply { display: flex; gap: .5rem; padding: .5rem; border-top: 1px solid #dde; background: #fff; align-items: flex-end; }
  #reply[hidden] { display: none; }
  #reply textarea { flex: 1; height: 3.2rem; resize: vertical; }
  .notice { margin: .5rem .8rem; padding: .4rem; background: #fff6d6; border-radius: 4px; }
  .error { color: #c62828; }
  .empty { padding: 2rem; color: #889; text-align: center; }
</style>
</head>
<body>
<header>
  <h1>crmchats demo</h1>
  <small>library <?= h($chats->version()) ?></small>
  <form method="post" style="margin-left:auto">
    <input type="hidden" name="csrf" value="<?= h($csrf) ?>">
    <input type="hidden" name="action" value="operator">
    <label>Operator
      <select name="operator_id" onchange="this.form.submit()">
        <option value="0">— pick —</option>
        <?php foreach ($operators as $op): ?>
          <option value="<?= h($op['id']) ?>" <?= (int)$op['id'] === $operatorId ? 'selected' : '' ?>>
            <?= h($op['name'] ?? ('#' . $op['id'])) ?><?= !empty($op['is_admin']) ? ' (admin)' : '' ?>
          </option>
        <?php endforeach; ?>
      </select>
    </label>
  </form>
</header>
<main>
  <section>
    <?php if ($notice !== null): ?><div class="notice"><?= h($notice) ?></div><?php endif; ?>
    <?php foreach ($problems as $problem): ?><div class="notice error"><?= h($problem) ?></div><?php endforeach; ?>
    <h2>Channels</h2>
    <?php if ($channels === []): ?><div class="box muted">No channels yet.</div><?php endif; ?>
    <?php foreach ($channels as $ch): $state = (string)($ch['webhook']['state'] ?? 'unknown'); ?>
      <div class="channel">
        <b><?= h($ch['name'] ?? '') ?></b> <span class="muted"><?= h($ch['type'] ?? '') ?> #<?= h($ch['id'] ?? '') ?></span><br>
        <?php if (!empty($ch['bot_name'])): ?><span class="muted"><?= h($ch['bot_name']) ?></span><br><?php endif; ?>
        webhook: <span class="<?= $state === 'registered' ? 'state-ok' : 'state-bad' ?>"><?= h($state) ?></span>
        <?php if (empty($ch['active'])): ?> · <span class="state-bad">inactive</span><?php endif; ?>
        <div class="muted"><?= h($ch['webhook']['url'] ?? '') ?></div>
      </div>
    <?php endforeach; ?>
    <h2>Create Telegram channel</h2>
    <form method="post" class="box">
      <input type="hidden" name="csrf" value="<?= h($csrf) ?>">
      <input type="hidden" name="action" value="create_telegram">
      <p><input type="text" name="name" placeholder="Channel name" required></p>
      <p><input type="text" name="token" placeholder="Bot token from @BotFather" required autocomplete="off"></p>
      <button>Create</button>
    </form>
  </section>
  <section>
    <h2>Dialogs</h2>
    <div id="dialogs"><div class="empty"><?= $operatorId > 0 ? 'Loading…' : 'Pick an operator above.' ?></div></div>
  </section>
  <section id="thread">
    <div id="messages"><div class="empty">Open a dialog.</div></div>
    <form id="reply" hidden>
      <textarea name="text" placeholder="Reply… (Ctrl+Enter sends)"></textarea>
      <input type="file" name="file">
      <button>Send</button>
    </form>
    <div id="send-error" class="box error"></div>
  </section>
</main>
<script>
(() => {
  const operator = <?= json_encode($operatorId) ?>;
  const csrf = <?= json_encode($csrf) ?>;
  let openDialog = <?= json_encode(max(0, (int)($_GET['dialog'] ?? 0))) ?>;
  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const safeUrl = (u) => typeof u === 'string' && /^(https?:\/\/|\/)/.test(u) ? u : null;
  // A message's error is {code, message, retry_after}; older shapes may be a plain string.
  const describe = (e) => !e ? 'unknown error' : typeof e === 'string' ? e
    : (e.code || 'error') + ': ' + (e.message || '') + (e.retry_after ? ' (retry in ' + e.retry_after + ' s)' : '');
  const time = (t) => t ? new Date(typeof t === 'number' ? t * 1000 : t).toLocaleString() : '';

  function renderDialogs(dialogs) {
    const box = $('dialogs');
    box.replaceChildren();
    if (!dialogs.length) { box.append(el('div', 'empty', 'No dialogs yet.')); return; }
    for (const d of dialogs) {
      const row = el('div', 'dialog' + (d.id === openDialog ? ' open' : '') + (d.status === 'closed' ? ' closed' : ''));
      const top = el('div', 'top');
      const visitor = d.visitor || {};
      top.append(el('b', '', visitor.name || visitor.username || ('visitor #' + visitor.id)));
      if (d.unread > 0) top.append(el('span', 'badge', d.unread));
      row.append(top);
      const last = d.last_message || {};
      row.append(el('div', 'muted', (last.direction === 'out' ? '→ ' : '') + (last.text || '')));
      row.append(el('div', 'muted', ((d.channel || {}).name || '') + ' · ' + d.status));
      row.onclick = () => { openDialog = d.id; $('reply').hidden = false; refresh(true); };
      box.append(row);
    }
  }

  function renderMessages(messages, scrollDown) {
    const box = $('messages');
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.replaceChildren();
    if (!messages.length) box.append(el('div', 'empty', 'No messages.'));
    for (const m of messages) {
      const div = el('div', 'msg ' + m.direction + (m.status === 'failed' || m.status === 'deleted' ? ' ' + m.status : ''));
      if (m.text) div.append(el('div', '', m.text));
      for (const a of m.attachments || []) {
        const url = safeUrl(a.url);
        if (url && /^image\//.test(a.mime || '')) {
          const img = el('img'); img.src = url; img.alt = a.name || ''; div.append(img);
        }
        const link = el('a', '', '📎 ' + (a.name || 'file') + (a.size ? ' (' + Math.ceil(a.size / 1024) + ' KB)' : ''));
        if (url) { link.href = url; link.target = '_blank'; link.rel = 'noopener'; }
        if (div.childNodes.length) div.append(el('br'));
        div.append(link);
      }
      const author = m.author || {};
      div.append(el('div', 'meta', (author.name || author.type || '') + ' · ' + time(m.created_at) + ' · ' + m.status));
      if (m.status === 'failed') div.append(el('div', 'err', 'Not delivered: ' + describe(m.error)));
      box.append(div);
    }
    if (scrollDown || atBottom) box.scrollTop = box.scrollHeight;
  }

  let busy = false;
  async function refresh(scrollDown) {
    if (!operator || busy) return;
    busy = true;
    try {
      const r = await fetch('?api=state&dialog=' + openDialog, { cache: 'no-store' });
      const data = await r.json();
      if (data.error) { $('dialogs').replaceChildren(el('div', 'empty error', data.error.code + ': ' + data.error.message)); return; }
      renderDialogs(data.dialogs || []);
      if (openDialog) renderMessages(data.messages || [], scrollDown);
    } catch (e) {
      console.warn('refresh failed', e);
    } finally {
      busy = false;
    }
  }

  $('reply').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const body = new FormData(form);
    body.append('dialog_id', openDialog);
    body.append('csrf', csrf);
    $('send-error').textContent = '';
    const r = await fetch('?api=send', { method: 'POST', body });
    const data = await r.json().catch(() => ({ error: { code: 'http_' + r.status, message: 'bad reply' } }));
    if (data.error) {
      $('send-error').textContent = 'Not sent: ' + data.error.code + ' — ' + data.error.message;
    } else {
      form.reset();
    }
    refresh(true);
  });
  $('reply').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.ctrlKey) $('reply').requestSubmit();
  });

  if (openDialog) $('reply').hidden = false;
  refresh(true);
  setInterval(refresh, 2000);
})();
</script>
</body>
</html>
