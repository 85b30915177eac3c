<?php
/**
 * crmchats: the main (hook) file the CRM requires for this plugin.
 *
 * The CRM requires it with SMPLUGIN defined while it installs, activates or updates the plugin (the
 * lifecycle hooks below are registered only then), and without it on every ordinary request while
 * the plugin is active (the runtime hooks). plugin_deactivate is fired without requiring this file
 * again, so it is registered with the runtime hooks, which were loaded earlier in that request.
 * Hook names and the CRM's globals come from host.php.
 */

declare(strict_types=1);

require_once __DIR__ . '/host.php';
require_once __DIR__ . '/CrmchatsPlugin.php';

(static function (): void {
    $hooks = CrmchatsHost::hooks();
    if ($hooks === null) {
        return;
    }
    if (defined(CrmchatsHost::LIFECYCLE_CONSTANT)) {
        $hooks->add_action(CrmchatsHost::HOOK_ACTIVATE, [CrmchatsPlugin::class, 'onActivate']);
        $hooks->add_action(CrmchatsHost::HOOK_UPDATE, [CrmchatsPlugin::class, 'onUpdate']);
    }
    $hooks->add_action(CrmchatsHost::HOOK_DEACTIVATE, [CrmchatsPlugin::class, 'onDeactivate']);
    $hooks->add_filter(CrmchatsHost::FILTER_CARD_TAB, [CrmchatsPlugin::class, 'cardTabs']);
    $hooks->add_action(CrmchatsHost::HOOK_PAGE_CSS, [CrmchatsPlugin::class, 'pageCss']);
    $hooks->add_action(CrmchatsHost::HOOK_PAGE_JS, [CrmchatsPlugin::class, 'pageJs']);
    $hooks->add_action(CrmchatsHost::HOOK_PAGE_BODY, [CrmchatsPlugin::class, 'pageBody']);
})();
