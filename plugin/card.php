<?php
/**
 * The "Диалоги" tab of a client card (?clid=N) or a contact card (?pid=N): every dialog of that client
 * (its contacts' too) across channels, with their latest messages, and a button per channel where
 * they wrote before that opens the dialog in the console to answer. The CRM loads this into the tab's
 * pane; it is an HTML fragment.
 */

declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

header('Content-Type: text/html; charset=utf-8');

$crmchatsUser = CrmchatsHost::userId();
$clientId = (int)($_GET[CrmchatsHost::CARD_CLIENT_PARAM] ?? 0);
$contactId = (int)($_GET[CrmchatsHost::CARD_CONTACT_PARAM] ?? 0);
$e = CrmchatsPlugin::e(...);
$console = CrmchatsHost::url('php-bridge/console/');

if ($crmchatsUser <= 0) {
    http_response_code(401);
    echo '<div class="warning">Войдите в CRM.</div>';
    return;
}

try {
    $lib = CrmchatsPlugin::library();
    if ($contactId > 0) {
        $clientId = CrmchatsPlugin::contactClientId($contactId);
    }
    $dialogs = $lib->call('clients.dialogs', ['operator_id' => $crmchatsUser, 'client_id' => $clientId, 'limit' => 200])['dialogs'] ?? [];
    if ($contactId > 0) {
        $dialogs = array_values(array_filter($dialogs, static fn (array $d): bool => (int)($d['contact_id'] ?? 0) === $contactId));
    }
    $messages = [];
    foreach ($dialogs as $dialog) {
        if (($dialog['can_open'] ?? true) === true) {
            $messages[(int)$dialog['id']] = $lib->call('messages.list', [
                'dialog_id' => (int)$dialog['id'], 'operator_id' => $crmchatsUser, 'limit' => 30,
            ])['messages'] ?? [];
        }
    }
} catch (Throwable $ex) {
    error_log('crmchats card: ' . $ex->getMessage());
    echo '<div class="warning crmchats-error">Диалоги недоступны: ', $e(CrmchatsPlugin::describe($ex)), '</div>';
    return;
}

// One "write" button per channel: the newest dialog the client has there (dialogs come newest first).
$writeTo = [];
foreach ($dialogs as $dialog) {
    $channelId = (int)($dialog['channel']['id'] ?? 0);
    if (!isset($writeTo[$channelId]) && ($dialog['can_open'] ?? true) === true) {
        $writeTo[$channelId] = $dialog;
    }
}
$statusNames = ['open' => 'открыт', 'closed' => 'закрыт'];
?>
<div class="crmchats-card" data-client="<?= $e($clientId) ?>" data-contact="<?= $e($contactId) ?>">
<?php if ($dialogs === []) { ?>
  <div class="crmchats-empty attention bgwhite">Этот клиент ещё не писал ни в один из подключённых каналов.</div>
<?php } else { ?>
  <div class="crmchats-write">
    <?php foreach ($writeTo as $dialog) { ?>
      <a class="button crmchats-write-button" target="_blank" rel="noopener"
         href="<?= $e($console . '?dialog=' . (int)$dialog['id']) ?>"
         data-dialog="<?= $e($dialog['id']) ?>">Написать в <?= $e($dialog['channel']['name'] ?? $dialog['channel']['type'] ?? '') ?>
         (<?= $e($dialog['channel']['type'] ?? '') ?>)</a>
    <?php } ?>
  </div>
  <?php foreach ($dialogs as $dialog) { $id = (int)$dialog['id']; ?>
    <section class="crmchats-dialog" data-dialog="<?= $e($id) ?>">
      <header class="crmchats-dialog-head">
        <b><?= $e($dialog['visitor']['name'] ?? '') ?></b>
        · <?= $e($dialog['channel']['name'] ?? '') ?> (<?= $e($dialog['channel']['type'] ?? '') ?>)
        · <?= $e($statusNames[$dialog['status'] ?? ''] ?? ($dialog['status'] ?? '')) ?>
        <?php if (($dialog['can_open'] ?? true) === true) { ?>
          · <a href="<?= $e($console . '?dialog=' . $id) ?>" target="_blank" rel="noopener">открыть в консоли</a>
        <?php } ?>
      </header>
      <?php if (!isset($messages[$id])) { ?>
        <div class="crmchats-hidden gray2">Диалог ведёт другой оператор.</div>
      <?php } else { foreach ($messages[$id] as $m) { $in = ($m['direction'] ?? '') === 'in'; ?>
        <div class="crmchats-message <?= $in ? 'crmchats-in' : 'crmchats-out' ?>" data-message="<?= $e($m['id'] ?? '') ?>">
          <span class="crmchats-author"><?= $e($m['author']['name'] ?? ($in ? 'Клиент' : '')) ?></span>
          <time datetime="<?= $e($m['created_at'] ?? '') ?>"><?= $e(isset($m['created_at']) ? date('d.m.Y H:i', (int)strtotime((string)$m['created_at'])) : '') ?></time>
          <div class="crmchats-text"><?= nl2br($e($m['text'] ?? '')) ?></div>
          <?php foreach ($m['attachments'] ?? [] as $a) { ?>
            <div class="crmchats-attachment"><a href="<?= $e(CrmchatsHost::url('php-bridge/attachment.php') . '?id=' . (int)($a['id'] ?? 0)) ?>" target="_blank" rel="noopener">📎 <?= $e($a['name'] ?? 'файл') ?></a></div>
          <?php } ?>
        </div>
      <?php } } ?>
    </section>
  <?php } ?>
<?php } ?>
</div>
