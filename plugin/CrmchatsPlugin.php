<?php
/**
 * The plugin's behaviour towards the host CRM: lifecycle (activate, update, deactivate, uninstall),
 * the card tab, the chat button on every page, and the library's configuration built from the CRM's
 * own settings. Host-specific names come from host.php; the library is reached through
 * php-bridge/Crmchats.php.
 *
 * Files the plugin keeps in its storage folder (CrmchatsHost::STORAGE_DIR) beside the attachments:
 *   plugin-state.json   version, identity, when activated, the "remove data on uninstall" switch
 *   timed-work.off      present while the plugin is deactivated: tick.php and tickIfDue do nothing
 *   config.php          optional, written by the admin: an array merged over the generated init config
 */

declare(strict_types=1);

require_once __DIR__ . '/host.php';

final class CrmchatsPlugin
{
    public const STATE_FILE = 'plugin-state.json';

    /** Same name as Crmchats::TIMED_WORK_OFF_FILE (the bridge may be loaded later than this file). */
    public const TIMED_WORK_OFF_FILE = 'timed-work.off';

    public const OVERRIDE_FILE = 'config.php';

    /** php-bridge/ inside the packaged plugin; the repository's own php-bridge/ when run from the tree. */
    public static function bridgeDir(): string
    {
        return is_dir(__DIR__ . '/php-bridge') ? __DIR__ . '/php-bridge' : dirname(__DIR__) . '/php-bridge';
    }

    public static function storageDir(): string
    {
        return CrmchatsHost::root() . '/' . CrmchatsHost::STORAGE_DIR;
    }

    /** The plugin's version, from plugin.json. */
    public static function version(): string
    {
        $about = json_decode((string)@file_get_contents(__DIR__ . '/plugin.json'), true);
        return is_array($about) && is_string($about['version'] ?? null) ? $about['version'] : '0';
    }

    // --- configuration ------------------------------------------------------------------------

    /**
     * The library's init() configuration: the CRM's database and table prefix, the tenant, the
     * storage folder; merged with storage/config.php when an admin wrote one.
     *
     * @return array<string, mixed>
     */
    public static function config(): array
    {
        $db = CrmchatsHost::database();
        $state = self::state();
        $config = [
            'database_url' => self::databaseUrl($db),
            'table_prefix' => $db['prefix'],
            'identity' => CrmchatsHost::identity() ?? (int)($state['identity'] ?? 1),
            'storage_dir' => self::storageDir(),
        ];
        $base = self::publicBaseUrl();
        if ($base !== null) {
            $config['public_base_url'] = $base;
        }
        $host = CrmchatsHost::libraryHostMapping();
        if ($host !== []) {
            $config['host'] = $host;
        }
        $override = self::storageDir() . '/' . self::OVERRIDE_FILE;
        if (is_file($override)) {
            $extra = (static fn (string $file): mixed => require $file)($override);
            if (is_array($extra)) {
                $config = array_replace_recursive($config, $extra);
            }
        }
        return $config;
    }

    /**
     * The URL of php-bridge/ as this web request reached the CRM (webhook and media links); null in the
     * CLI. Behind a proxy that changes the host or scheme, set public_base_url in storage/config.php.
     */
    public static function publicBaseUrl(): ?string
    {
        $host = $_SERVER['HTTP_HOST'] ?? null;
        if (PHP_SAPI === 'cli' || !is_string($host) || !preg_match('/^[A-Za-z0-9.\-\[\]:]+$/', $host)) {
            return null;
        }
        $https = !empty($_SERVER['HTTPS']) && strtolower((string)$_SERVER['HTTPS']) !== 'off';
        return ($https ? 'https' : 'http') . '://' . $host . rtrim(CrmchatsHost::url('php-bridge'), '/');
    }

    /**
     * mysql://user:pass@host:port/db from the CRM's settings. "localhost" means the unix socket to
     * PHP's mysqli, so it does here too when the socket is found (the CRM's grants may be for it).
     *
     * @param array{host:string, user:string, password:string, database:string, prefix:string} $db
     */
    public static function databaseUrl(array $db): string
    {
        $host = preg_replace('/^p:/', '', $db['host']) ?? $db['host'];
        $port = null;
        if (preg_match('/^(.*):(\d+)$/', $host, $m)) {
            [$host, $port] = [$m[1], $m[2]];
        }
        $auth = rawurlencode($db['user']) . ($db['password'] !== '' ? ':' . rawurlencode($db['password']) : '');
        $url = 'mysql://' . $auth . '@' . ($host === '' ? '127.0.0.1' : $host) . ($port !== null ? ":$port" : '')
            . '/' . rawurlencode($db['database']);
        if ($host === 'localhost' && $port === null) {
            foreach ([(string)ini_get('mysqli.default_socket'), '/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock'] as $socket) {
                if ($socket !== '' && file_exists($socket)) {
                    return $url . '?socket=' . rawurlencode($socket);
                }
            }
        }
        return $url;
    }

    /** The library, initialised with config() once per request. */
    public static function library(): Crmchats
    {
        require_once self::bridgeDir() . '/Crmchats.php';
        return Crmchats::shared(self::config());
    }

    // --- state --------------------------------------------------------------------------------

    /** @return array<string, mixed> */
    public static function state(): array
    {
        $state = json_decode((string)@file_get_contents(self::storageDir() . '/' . self::STATE_FILE), true);
        return is_array($state) ? $state : [];
    }

    /** @param array<string, mixed> $changes */
    public static function saveState(array $changes): void
    {
        $state = array_replace(self::state(), $changes);
        $file = self::storageDir() . '/' . self::STATE_FILE;
        $json = json_encode($state, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        if (@file_put_contents($file . '.tmp', $json) === false || !@rename($file . '.tmp', $file)) {
            throw new RuntimeException("cannot write $file: the storage folder must be writable by PHP");
        }
    }

    /** The "remove all chat data on uninstall" switch; off unless an admin turned it on. */
    public static function removeDataOnUninstall(): bool
    {
        return (self::state()['remove_data_on_uninstall'] ?? false) === true;
    }

    public static function setRemoveDataOnUninstall(bool $on): void
    {
        self::saveState(['remove_data_on_uninstall' => $on]);
    }

    public static function timedWorkStopped(): bool
    {
        return is_file(self::storageDir() . '/' . self::TIMED_WORK_OFF_FILE);
    }

    // --- lifecycle ----------------------------------------------------------------------------

    /** Whether a lifecycle hook's arguments ({"name": folder}) are about this plugin. */
    public static function isThisPlugin(mixed $args): bool
    {
        $name = is_array($args) ? ($args['name'] ?? null) : $args;
        return is_string($name) && strcasecmp($name, CrmchatsHost::FOLDER) === 0;
    }

    /** plugin_activate: the CRM installs or re-activates the plugin. */
    public static function onActivate(mixed $args = []): void
    {
        if (!self::isThisPlugin($args)) {
            return;
        }
        $problem = self::activate();
        if ($problem !== null) {
            CrmchatsHost::reportToPluginManager($problem);
        }
    }

    /** plugin_update: new files were unpacked; migrate in place, keep data and the team. */
    public static function onUpdate(mixed $args = []): void
    {
        if (!self::isThisPlugin($args)) {
            return;
        }
        $problem = self::migrate('update');
        if ($problem !== null) {
            CrmchatsHost::reportToPluginManager($problem);
        }
    }

    /** plugin_deactivate: timed work stops; webhooks keep being stored so nothing is lost. */
    public static function onDeactivate(mixed $args = []): void
    {
        if (!self::isThisPlugin($args)) {
            return;
        }
        @touch(self::storageDir() . '/' . self::TIMED_WORK_OFF_FILE);
        try {
            self::saveState(['active' => false, 'deactivated_at' => gmdate('c')]);
        } catch (Throwable $e) {
            error_log('crmchats deactivate: ' . $e->getMessage());
        }
    }

    /**
     * Activation: storage folder, migrations, the CRM's admins made operators, timed work on.
     *
     * @return string|null what went wrong, in words for the admin; null when all is well
     */
    public static function activate(): ?string
    {
        $problem = self::migrate('activate');
        if ($problem !== null) {
            return $problem;
        }
        try {
            $lib = self::library();
            $users = $lib->call('operators.list')['operators'] ?? [];
            $admins = array_values(array_map(
                static fn (array $u): int => (int)$u['id'],
                array_filter($users, static fn (array $u): bool => (bool)($u['is_admin'] ?? false)),
            ));
            if ($admins !== []) {
                $actor = in_array(CrmchatsHost::userId(), $admins, true) ? CrmchatsHost::userId() : $admins[0];
                $lib->call('operators.add', ['operator_id' => $actor, 'user_ids' => $admins]);
            }
            self::saveState(['admins_added' => $admins]);
        } catch (Throwable $e) {
            return 'the CRM\'s administrators could not be made operators: ' . self::describe($e);
        }
        return null;
    }

    /**
     * Creates the storage folder and applies the library's migrations (activation and update).
     *
     * @return string|null the problem, or null
     */
    public static function migrate(string $why): ?string
    {
        $storage = self::storageDir();
        if (!is_dir($storage) && !@mkdir($storage, 0770, true) && !is_dir($storage)) {
            return "cannot create the storage folder $storage: make " . dirname($storage) . ' writable by the PHP user.';
        }
        if (!is_writable($storage)) {
            return "the storage folder $storage is not writable by the PHP user.";
        }
        // Attachments must not be served by the web server: attachment.php checks access first.
        @file_put_contents($storage . '/.htaccess', "<IfModule mod_authz_core.c>\n  Require all denied\n</IfModule>\n<IfModule !mod_authz_core.c>\n  Deny from all\n</IfModule>\n");
        try {
            $config = self::config();
            $lib = self::library();
            // A PHP-FPM worker keeps the library's instance, migrated state included, while the
            // configuration stays the same: after an uninstall dropped the tables it would not create
            // them again. Opening once with an equivalent but different configuration (the default
            // timeout spelled out) makes the library check and apply its migrations now.
            if (!isset($config['http_timeout_secs'])) {
                $lib->init($config + ['http_timeout_secs' => 30]);
            }
            $result = $lib->init($config);
        } catch (Throwable $e) {
            return self::describe($e);
        }
        try {
            self::saveState([
                'active' => true,
                'version' => self::version(),
                'identity' => CrmchatsHost::identity() ?? (int)(self::state()['identity'] ?? 1),
                'schema_version' => $result['schema_version'] ?? null,
                $why === 'update' ? 'updated_at' : 'activated_at' => gmdate('c'),
            ]);
        } catch (Throwable $e) {
            return $e->getMessage();
        }
        @unlink($storage . '/' . self::TIMED_WORK_OFF_FILE);
        return null;
    }

    /**
     * uninstall.php: the CRM asks nothing, so the switch decides. Off (default): tables and files stay
     * for a later reinstall. On: the plugin's tables and its storage folder are removed.
     *
     * @return array{removed:bool, tables:list<string>}
     */
    public static function uninstall(): array
    {
        if (!self::removeDataOnUninstall()) {
            @touch(self::storageDir() . '/' . self::TIMED_WORK_OFF_FILE);
            return ['removed' => false, 'tables' => []];
        }
        $tables = self::dropTables();
        self::removeTree(self::storageDir());
        return ['removed' => true, 'tables' => $tables];
    }

    /**
     * Drops every `<prefix>crmchats_*` table of the CRM's database.
     *
     * @return list<string> the tables dropped
     */
    public static function dropTables(): array
    {
        $prefix = CrmchatsHost::database()['prefix'];
        $conn = self::connect();
        try {
            $like = addcslashes($prefix . 'crmchats_', '\\%_') . '%';
            $stmt = $conn->prepare('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE ?');
            $stmt->bind_param('s', $like);
            $stmt->execute();
            $tables = array_map(static fn (array $row): string => (string)$row[0], $stmt->get_result()->fetch_all(MYSQLI_NUM));
            if ($tables !== []) {
                $conn->query('SET FOREIGN_KEY_CHECKS = 0');
                $conn->query('DROP TABLE IF EXISTS ' . implode(', ', array_map(self::quoteName(...), $tables)));
            }
            return $tables;
        } finally {
            $conn->close();
        }
    }

    /** The client a contact belongs to (0: none), read from the host's contact table. */
    public static function contactClientId(int $contactId): int
    {
        $db = CrmchatsHost::database();
        $conn = self::connect();
        try {
            $sql = sprintf(
                'SELECT %s FROM %s WHERE %s = ? AND %s = ?',
                self::quoteName(CrmchatsHost::CONTACT_CLIENT),
                self::quoteName($db['prefix'] . CrmchatsHost::CONTACT_TABLE),
                self::quoteName(CrmchatsHost::CONTACT_ID),
                self::quoteName(CrmchatsHost::CONTACT_IDENTITY),
            );
            $identity = (int)(self::config()['identity'] ?? 1);
            $stmt = $conn->prepare($sql);
            $stmt->bind_param('ii', $contactId, $identity);
            $stmt->execute();
            $row = $stmt->get_result()->fetch_row();
            return $row === null ? 0 : (int)$row[0];
        } finally {
            $conn->close();
        }
    }

    /** A mysqli connection with the CRM's settings (the CRM itself uses mysqli). */
    private static function connect(): mysqli
    {
        $db = CrmchatsHost::database();
        $host = preg_replace('/^p:/', '', $db['host']) ?? $db['host'];
        $port = 3306;
        if (preg_match('/^(.*):(\d+)$/', $host, $m)) {
            [$host, $port] = [$m[1], (int)$m[2]];
        }
        mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
        $conn = new mysqli($host, $db['user'], $db['password'], $db['database'], $port);
        $conn->set_charset('utf8mb4');
        return $conn;
    }

    private static function quoteName(string $name): string
    {
        return '`' . str_replace('`', '``', $name) . '`';
    }

    private static function removeTree(string $dir): void
    {
        if (!is_dir($dir) || is_link($dir)) {
            @unlink($dir);
            return;
        }
        foreach (scandir($dir) ?: [] as $entry) {
            if ($entry !== '.' && $entry !== '..') {
                self::removeTree($dir . '/' . $entry);
            }
        }
        @rmdir($dir);
    }

    /** A problem in words for the admin: what happened and, for the known ones, what to do. */
    public static function describe(Throwable $e): string
    {
        if (!$e instanceof CrmchatsException) {
            return $e->getMessage();
        }
        return match ($e->getErrorCode()) {
            'ffi_unavailable' => 'PHP cannot load the chat library: ' . $e->getMessage(),
            'library_unavailable' => 'the chat library cannot be loaded: ' . $e->getMessage()
                . ' (the package holds a Linux x86_64 build; upload the whole package again).',
            'storage_error' => 'the database refused the chat tables (the CRM\'s database user needs CREATE, ALTER, '
                . 'INDEX, SELECT, INSERT, UPDATE, DELETE on its database): ' . $e->getMessage(),
            default => $e->getErrorCode() . ': ' . $e->getMessage(),
        };
    }

    // --- runtime hooks ------------------------------------------------------------------------

    /**
     * card_tab filter: a "Диалоги" tab on client and contact cards.
     *
     * @param array<int, mixed> $tabs
     * @param array<string, mixed> $params the card's parameters (clid, or type=contact and pid)
     * @return array<int, mixed>
     */
    public static function cardTabs(mixed $tabs = [], mixed $params = []): array
    {
        $tabs = is_array($tabs) ? $tabs : [];
        try {
            $params = is_array($params) && $params !== [] ? $params : $_REQUEST;
            $client = (int)($params[CrmchatsHost::CARD_CLIENT_PARAM] ?? 0);
            $contact = (int)($params[CrmchatsHost::CARD_CONTACT_PARAM] ?? 0);
            $isContact = ($params['type'] ?? '') === 'contact' || ($contact > 0 && $client <= 0);
            if (CrmchatsHost::userId() > 0 && (($isContact && $contact > 0) || (!$isContact && $client > 0))) {
                $title = CrmchatsHost::language() === 'en' ? 'Dialogs' : 'Диалоги';
                $tabs[] = CrmchatsHost::cardTab('crmchats', $title, CrmchatsHost::url('card.php'));
            }
        } catch (Throwable $e) {
            error_log('crmchats card_tab: ' . $e->getMessage());
        }
        return $tabs;
    }

    public static function pageCss(): void
    {
        if (CrmchatsHost::userId() > 0) {
            echo '<link rel="stylesheet" href="', self::e(CrmchatsHost::url('assets/panel.css') . '?v=' . self::version()), '">', "\n";
        }
    }

    public static function pageJs(): void
    {
        if (CrmchatsHost::userId() > 0) {
            echo '<script src="', self::e(CrmchatsHost::url('assets/panel.js') . '?v=' . self::version()), '" defer></script>', "\n";
        }
    }

    /** The chat button and its panel (the console in a frame), on every CRM page of a signed-in user. */
    public static function pageBody(): void
    {
        if (CrmchatsHost::userId() <= 0) {
            return;
        }
        $console = CrmchatsHost::url('php-bridge/console/');
        echo '<div id="crmchats-panel" class="crmchats-panel" data-unread-url="', self::e(CrmchatsHost::url('unread.php')),
            '" data-console-url="', self::e($console), '">',
            '<button type="button" class="crmchats-button" title="Чаты" aria-label="Чаты">',
            '<i class="', self::e(CrmchatsHost::ICON), '"></i><span class="crmchats-badge" hidden>0</span></button>',
            '<div class="crmchats-frame" hidden><div class="crmchats-frame-bar">',
            '<a href="', self::e($console), '" target="_blank" rel="noopener" title="Открыть в новом окне">&#8599;</a>',
            '<button type="button" class="crmchats-close" title="Закрыть">&times;</button></div>',
            '<iframe title="crmchats" data-src="', self::e($console), '"></iframe></div></div>', "\n";
    }

    public static function e(mixed $value): string
    {
        return htmlspecialchars((string)$value, ENT_QUOTES | ENT_SUBSTITUTE, 'UTF-8');
    }
}
