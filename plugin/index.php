<?php
/**
 * The plugin's menu page. Operators are sent to the console; CRM admins see whether the library
 * works here (FFI, library, database), a link to the settings pages, and the "remove all chat data on
 * uninstall" switch (off by default) that uninstall.php obeys.
 */

declare(strict_types=1);

require __DIR__ . '/bootstrap.php';

header('Content-Type: text/html; charset=utf-8');

$crmchatsUser = CrmchatsHost::userId();
$e = CrmchatsPlugin::e(...);
if ($crmchatsUser <= 0) {
    http_response_code(401);
    echo 'Войдите в CRM.';
    return;
}

$problem = null;
$isAdmin = false;
try {
    $lib = CrmchatsPlugin::library();
    foreach ($lib->call('operators.list')['operators'] ?? [] as $user) {
        if ((int)$user['id'] === $crmchatsUser) {
            $isAdmin = (bool)($user['is_admin'] ?? false);
        }
    }
} catch (Throwable $ex) {
    $problem = CrmchatsPlugin::describe($ex);
}

if ($problem === null && !$isAdmin) {
    header('Location: ' . CrmchatsHost::url('php-bridge/console/'));
    return;
}

$message = null;
if ($problem === null && $_SERVER['REQUEST_METHOD'] === 'POST') {
    $token = (string)(CrmchatsPlugin::state()['form_token'] ?? '');
    if ($token === '' || !hash_equals($token, (string)($_POST['token'] ?? ''))) {
        http_response_code(400);
        $message = 'Форма устарела, обновите страницу.';
    } else {
        try {
            CrmchatsPlugin::setRemoveDataOnUninstall(($_POST['remove_data_on_uninstall'] ?? '') === 'on');
            $message = 'Сохранено.';
        } catch (Throwable $ex) {
            http_response_code(500);
            $message = 'Не сохранено: ' . $ex->getMessage();
        }
    }
}
$state = CrmchatsPlugin::state();
if ($problem === null && !isset($state['form_token'])) {
    CrmchatsPlugin::saveState(['form_token' => bin2hex(random_bytes(16))]);
    $state = CrmchatsPlugin::state();
}
?>
<!DOCTYPE html>
<html lang="ru">
<head><meta charset="utf-8"><title>crmchats</title></head>
<body class="crmchats-admin">
<h1>Чаты и мессенджеры (crmchats <?= $e(CrmchatsPlugin::version()) ?>)</h1>
<?php if ($problem !== null) { ?>
  <div class="warning crmchats-error"><?= $e($problem) ?></div>
<?php } else { ?>
  <p>Библиотека: <?= $e($lib->version()) ?>, хранилище: <?= $e(CrmchatsPlugin::storageDir()) ?>.
    Плановые задачи: <?= CrmchatsPlugin::timedWorkStopped() ? 'остановлены (плагин деактивирован)' : 'работают' ?>.</p>
  <p><a href="<?= $e(CrmchatsHost::url('php-bridge/settings/')) ?>">Каналы и настройки</a> ·
     <a href="<?= $e(CrmchatsHost::url('php-bridge/console/')) ?>">Консоль оператора</a></p>
  <?php if ($message !== null) { ?><div class="success"><?= $e($message) ?></div><?php } ?>
  <form method="post">
    <input type="hidden" name="token" value="<?= $e($state['form_token'] ?? '') ?>">
    <label><input type="checkbox" name="remove_data_on_uninstall" value="on"
      <?= CrmchatsPlugin::removeDataOnUninstall() ? 'checked' : '' ?>>
      Удалить все данные чатов (таблицы и файлы) при удалении плагина</label>
    <p class="gray2">Выключено: при удалении плагина история сохраняется и вернётся при повторной установке.</p>
    <button type="submit">Сохранить</button>
  </form>
<?php } ?>
</body>
</html>
