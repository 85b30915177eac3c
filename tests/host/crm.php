<?php
/**
 * One request of a simulated SalesMan CRM, as the CRM treats a plugin (see /work/shared/HOST.md):
 *
 *   php crm.php <crm root> plugins <install.do|activate|deactivate|update|uninstall> <folder>
 *       the plugin manager (content/admin/plugins.php): SMPLUGIN defined, active plugins loaded,
 *       the row in <prefix>plugins and cash/plugins.json kept, the lifecycle hook fired
 *   php crm.php <crm root> page
 *       an ordinary full page (inc/head.php): active plugins loaded without SMPLUGIN, main__css,
 *       main__js and main__body printed in the page
 *   php crm.php <crm root> card-tab <client|contact|deal> <id>
 *       the card_tab filter of a card, printed as JSON
 *
 * The signed-in user is env SIM_USER (0 or unset: nobody). The CRM's inc/ files come from the
 * simulated root (scenario.php writes them).
 */

declare(strict_types=1);

error_reporting(E_ERROR);
ini_set('display_errors', '0');

require_once __DIR__ . '/Hooks.php';

[$self, $rootpath, $entry] = array_pad($argv, 3, '');
$args = array_slice($argv, 3);

// The globals every CRM entry script has.
require $rootpath . '/inc/config.php';
require $rootpath . '/inc/dbconnector.php';
$hooks = new SimHooks();

/** Active plugins from cash/plugins.json, their main files required (inc/func.php loadIncludes). */
$loadActivePlugins = static function () use ($rootpath): void {
    global $hooks, $iduser1, $identity, $sqlname;
    $active = json_decode((string)@file_get_contents($rootpath . '/cash/plugins.json'), true) ?: [];
    foreach ($active as $folder) {
        $main = $rootpath . '/plugins/' . $folder . '/' . strtolower($folder) . '.php';
        if (is_file($main)) {
            require_once $main;
        }
    }
};

$pluginsTable = static function (): mysqli {
    global $dbhostname, $dbusername, $dbpassword, $database, $sqlname;
    [$host, $port] = array_pad(explode(':', $dbhostname, 2), 2, '3306');
    $db = new mysqli($host, $dbusername, $dbpassword, $database, (int)$port);
    // Checked first: CREATE TABLE IF NOT EXISTS needs the CREATE right even when the table exists.
    if ($db->query("SHOW TABLES LIKE '{$sqlname}plugins'")->num_rows === 0) {
        $db->query("CREATE TABLE `{$sqlname}plugins` (`id` INT AUTO_INCREMENT PRIMARY KEY, `name` VARCHAR(100),
            `active` VARCHAR(3) DEFAULT 'on', `version` VARCHAR(20), `datum` DATETIME NULL, `identity` INT DEFAULT 1)");
    }
    return $db;
};

$writeActiveList = static function (mysqli $db) use ($rootpath): void {
    global $sqlname, $identity;
    $names = array_column($db->query("SELECT name FROM `{$sqlname}plugins` WHERE active = 'on' AND identity = " . (int)$identity . ' ORDER BY name')->fetch_all(), 0);
    file_put_contents($rootpath . '/cash/plugins.json', json_encode($names));
};

switch ($entry) {
    case 'plugins':
        [$action, $folder] = $args;
        $_REQUEST['action'] = $action;
        define('SMPLUGIN', true);
        $loadActivePlugins();
        $db = $pluginsTable();
        $about = json_decode((string)file_get_contents("$rootpath/plugins/$folder/plugin.json"), true);
        $name = $db->real_escape_string($folder);
        $version = $db->real_escape_string((string)($about['version'] ?? '1.0'));
        if ($action === 'install.do') {
            $db->query("INSERT INTO `{$sqlname}plugins` (name, active, version, datum, identity) VALUES ('$name', 'on', '$version', NOW(), $identity)");
            require_once "$rootpath/plugins/$folder/" . strtolower($folder) . '.php';
            $hooks->do_action('plugin_activate', ['name' => $folder]);
            $writeActiveList($db);
            echo json_encode(['result' => 'Сделано'], JSON_UNESCAPED_UNICODE);
        } elseif ($action === 'activate') {
            $db->query("UPDATE `{$sqlname}plugins` SET active = 'on', version = '$version' WHERE name = '$name'");
            require_once "$rootpath/plugins/$folder/" . strtolower($folder) . '.php';
            $hooks->do_action('plugin_activate', ['name' => $folder]);
            $writeActiveList($db);
            echo 'Плагин активирован';
        } elseif ($action === 'deactivate') {
            // Not required again: the handler exists only because the active plugin was loaded above.
            $db->query("UPDATE `{$sqlname}plugins` SET active = 'off' WHERE name = '$name'");
            $hooks->do_action('plugin_deactivate', ['name' => $folder]);
            $writeActiveList($db);
            echo 'Плагин деактивирован';
        } elseif ($action === 'update') {
            $db->query("UPDATE `{$sqlname}plugins` SET version = '$version' WHERE name = '$name'");
            $hooks->do_action('plugin_update', ['name' => $folder]);
            echo 'Плагин обновлен';
        } elseif ($action === 'uninstall') {
            define('SM_UNINSTALL_PLUGIN', true);
            if (is_file("$rootpath/plugins/$folder/uninstall.php")) {
                require_once "$rootpath/plugins/$folder/uninstall.php";
            }
            $hooks->do_action('plugin_uninstall', ['name' => $folder]);
            $db->query("DELETE FROM `{$sqlname}plugins` WHERE name = '$name'");
            $writeActiveList($db);
            echo 'Плагин удален';
        } else {
            throw new RuntimeException("unknown plugin action $action");
        }
        // Another plugin's lifecycle fires the same hooks: ours must ignore it.
        $hooks->do_action('plugin_activate', ['name' => 'someOtherPlugin']);
        $hooks->do_action('plugin_deactivate', ['name' => 'someOtherPlugin']);
        break;

    case 'page':
        $loadActivePlugins();
        echo "<!DOCTYPE html><html><head><title>SalesMan</title>\n";
        $hooks->do_action('main__css');
        $hooks->do_action('main__js');
        echo "</head><body><div id=\"crm\">CRM page</div>\n";
        $hooks->do_action('main__body');
        echo "</body></html>\n";
        break;

    case 'card-tab':
        [$kind, $id] = $args;
        $loadActivePlugins();
        $params = match ($kind) {
            'client' => ['clid' => (int)$id],
            'contact' => ['type' => 'contact', 'pid' => (int)$id],
            'deal' => ['did' => (int)$id],
        };
        echo json_encode($hooks->apply_filters('card_tab', [], $params), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        break;

    default:
        throw new RuntimeException("unknown entry $entry");
}
