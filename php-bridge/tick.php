<?php
/**
 * The timed work, for cron: closes idle dialogs, hands queued dialogs to operators who came
 * online, forgets old webhook deliveries. Safe to run from several servers: only one runs at a
 * time (a database lock), the others report that and exit.
 *
 *   * * * * * php /path/to/crm/plugins/crmchats/php-bridge/tick.php >/dev/null
 *
 * Prints what it did as JSON; exits 1 when the library failed.
 */

declare(strict_types=1);

if (PHP_SAPI !== 'cli') {
    http_response_code(404);
    return;
}

require_once __DIR__ . '/Crmchats.php';

try {
    $lib = Crmchats::shared();
    if ($lib->timedWorkStopped()) {          // the CRM plugin is deactivated
        echo json_encode(['ran' => false, 'stopped' => true]), "\n";
        exit(0);
    }
    $result = $lib->call('tick');
    echo json_encode($result, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
} catch (Throwable $e) {
    fwrite(STDERR, 'crmchats tick: ' . ($e instanceof CrmchatsException ? $e->getErrorCode() . ': ' : '') . $e->getMessage() . "\n");
    exit(1);
}
