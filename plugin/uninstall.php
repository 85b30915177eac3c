<?php
/**
 * Run by the CRM when the plugin is uninstalled (with SM_UNINSTALL_PLUGIN defined; see host.php).
 * The CRM asks no question: the "remove all chat data on uninstall" switch (index.php, off by
 * default) decides whether the chat tables and files go, or stay for a later reinstall.
 */

declare(strict_types=1);

require_once __DIR__ . '/host.php';

if (!defined(CrmchatsHost::UNINSTALL_CONSTANT)) {
    http_response_code(404);
    return;
}

require_once __DIR__ . '/CrmchatsPlugin.php';

(static function (): void {
    $run = static function (mixed $args = []): void {
        if (!CrmchatsPlugin::isThisPlugin($args)) {
            return;
        }
        try {
            CrmchatsPlugin::uninstall();
        } catch (Throwable $e) {
            error_log('crmchats uninstall: ' . $e->getMessage());
            CrmchatsHost::reportToPluginManager('uninstall could not remove the chat data: ' . $e->getMessage());
        }
    };
    $hooks = CrmchatsHost::hooks();
    if ($hooks !== null) {
        $hooks->add_action(CrmchatsHost::HOOK_UNINSTALL, $run);
    } else {
        $run(['name' => CrmchatsHost::FOLDER]);
    }
})();
