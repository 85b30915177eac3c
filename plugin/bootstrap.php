<?php
/**
 * Included first, at global scope, by the plugin's own pages (card.php, unread.php, index.php): the
 * CRM's entry files that give its settings and the signed-in user (CrmchatsHost::PAGE_BOOTSTRAP).
 * Keeps PHP's warnings out of the page: the CRM runs with error_reporting(E_ERROR).
 */

declare(strict_types=1);

ini_set('display_errors', '0');
error_reporting(E_ERROR);

require_once __DIR__ . '/host.php';

$rootpath = dirname(__DIR__, 2);
foreach (CrmchatsHost::PAGE_BOOTSTRAP as $crmchatsBootstrapFile) {
    require_once $rootpath . '/' . $crmchatsBootstrapFile;
}
unset($crmchatsBootstrapFile);

require_once __DIR__ . '/CrmchatsPlugin.php';
