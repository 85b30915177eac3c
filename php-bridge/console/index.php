<?php
/**
 * The operator console: dialog list + dialog view, built by console.js from ../api.php.
 *
 * Inside the CRM the operator is the signed-in user. Under PHP's built-in server (the demo) a small
 * sign-in form lets you pick a CRM user instead. The page carries no inline script (strict CSP): the
 * CSRF token and the API's address travel in <meta> tags.
 */

declare(strict_types=1);

ini_set('display_errors', '0');
ini_set('html_errors', '0');

require_once __DIR__ . '/../lib/console.php';

$crmchatsOperator = crmchats_current_operator();
$crmchatsCsrf = crmchats_csrf_token();
$crmchatsLanguage = crmchats_language();
$crmchatsAsset = static fn (string $file): string => crmchats_h($file . '?v=' . (string)@filemtime(__DIR__ . '/' . $file));
crmchats_page_headers();
?><!doctype html>
<html lang="<?= crmchats_h($crmchatsLanguage) ?>">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="crmchats-csrf" content="<?= crmchats_h($crmchatsCsrf) ?>">
<meta name="crmchats-api" content="../api.php">
<meta name="crmchats-lang" content="<?= crmchats_h($crmchatsLanguage) ?>">
<meta name="crmchats-lang-from-crm" content="<?= crmchats_crm_language() !== null ? '1' : '0' ?>">
<meta name="crmchats-signed-in" content="<?= $crmchatsOperator !== null ? '1' : '0' ?>">
<meta name="crmchats-demo" content="<?= crmchats_demo_login_allowed() && !isset($GLOBALS['iduser1']) ? '1' : '0' ?>">
<title>Чаты</title>
<link rel="stylesheet" href="<?= $crmchatsAsset('console.css') ?>">
</head>
<body>
<div id="app" class="app" aria-live="polite">
  <noscript>JavaScript is required.</noscript>
</div>
<script src="<?= $crmchatsAsset('common.js') ?>"></script>
<script src="<?= $crmchatsAsset('settings.js') ?>"></script>
<script src="<?= $crmchatsAsset('vendor/chart.umd.min.js') ?>"></script>
<script src="<?= $crmchatsAsset('reports.js') ?>"></script>
<script src="<?= $crmchatsAsset('console.js') ?>"></script>
</body>
</html>
