<?php
/**
 * Everything crmchats knows about its host CRM (SalesMan), in one place: hook names, the globals a
 * plugin is given, the entry files a plugin page includes, paths and URLs, and how a message reaches
 * the plugin manager. Adapting crmchats to another CRM of the family means changing this file only
 * (see README.md beside it: "What a host must provide").
 *
 * Nothing here talks to the library; CrmchatsPlugin.php uses these names.
 */

declare(strict_types=1);

final class CrmchatsHost
{
    /** The plugin's folder under the CRM's plugins/ (main file: <folder>.php, lowercase). */
    public const FOLDER = 'crmchats';

    /** Defined by the CRM while it installs/activates/updates a plugin (the main file's lifecycle part). */
    public const LIFECYCLE_CONSTANT = 'SMPLUGIN';

    /** Defined by the CRM before it requires uninstall.php. */
    public const UNINSTALL_CONSTANT = 'SM_UNINSTALL_PLUGIN';

    /** Hook names: actions the CRM fires, filters it applies. */
    public const HOOK_ACTIVATE = 'plugin_activate';
    public const HOOK_UPDATE = 'plugin_update';
    public const HOOK_DEACTIVATE = 'plugin_deactivate';
    public const HOOK_UNINSTALL = 'plugin_uninstall';
    public const HOOK_PAGE_CSS = 'main__css';
    public const HOOK_PAGE_JS = 'main__js';
    public const HOOK_PAGE_BODY = 'main__body';
    public const FILTER_CARD_TAB = 'card_tab';

    /** Request/filter parameters naming the card: a client (company) and a contact (person). */
    public const CARD_CLIENT_PARAM = 'clid';
    public const CARD_CONTACT_PARAM = 'pid';

    /** The CRM's icon font class for the chat tab and the menu. */
    public const ICON = 'icon-chat';

    /** Where the CRM keeps its DB settings, relative to its root. */
    public const CONFIG_FILE = 'inc/config.php';

    /**
     * What a plugin page (its own URL, e.g. the card tab) includes, in this order, at global scope, to
     * get the CRM's settings and the signed-in user ($iduser1); auth.php answers for a guest itself.
     */
    public const PAGE_BOOTSTRAP = ['inc/config.php', 'inc/dbconnector.php', 'inc/auth.php'];

    /** Attachments, the plugin's state file and the flags live here (relative to the CRM's root). */
    public const STORAGE_DIR = 'files/crmchats';

    /** The host's table of contacts: id, the client it belongs to, tenant (for the contact card tab). */
    public const CONTACT_TABLE = 'personcat';
    public const CONTACT_ID = 'pid';
    public const CONTACT_CLIENT = 'clid';
    public const CONTACT_IDENTITY = 'identity';

    /** The CRM's hook object (voku\helper\Hooks in SalesMan): add_action, add_filter. */
    public static function hooks(): ?object
    {
        $hooks = $GLOBALS['hooks'] ?? null;
        return is_object($hooks) ? $hooks : null;
    }

    /** The CRM's root folder: $rootpath when the CRM set it, else two levels above this plugin. */
    public static function root(): string
    {
        $root = $GLOBALS['rootpath'] ?? null;
        return is_string($root) && $root !== '' ? rtrim($root, '/') : dirname(__DIR__, 2);
    }

    /** The signed-in CRM user, 0 for none. */
    public static function userId(): int
    {
        return (int)($GLOBALS['iduser1'] ?? 0);
    }

    /** The tenant of this request; null when the CRM did not say (webhooks, cron). */
    public static function identity(): ?int
    {
        $identity = $GLOBALS['identity'] ?? null;
        return is_numeric($identity) && (int)$identity > 0 ? (int)$identity : null;
    }

    /** The CRM user's interface language, "ru" or "en" ($language: "ru-RU", "en-EN"); "ru" by default. */
    public static function language(): string
    {
        $language = $GLOBALS['language'] ?? '';
        return is_string($language) && str_starts_with(strtolower($language), 'en') ? 'en' : 'ru';
    }

    /**
     * The CRM's database settings: from the globals the CRM set, else read from inc/config.php in a
     * scope of its own (webhook.php and cron run outside the CRM).
     *
     * @return array{host:string, user:string, password:string, database:string, prefix:string}
     */
    public static function database(): array
    {
        $vars = ['dbhostname' => null, 'dbusername' => null, 'dbpassword' => null, 'database' => null, 'sqlname' => null];
        foreach (array_keys($vars) as $name) {
            $vars[$name] = $GLOBALS[$name] ?? null;
        }
        if ($vars['database'] === null || $vars['dbhostname'] === null) {
            $file = self::root() . '/' . self::CONFIG_FILE;
            if (!is_file($file)) {
                throw new RuntimeException("the CRM's settings file $file is missing");
            }
            $vars = (static function (string $file): array {
                require $file;
                return compact('dbhostname', 'dbusername', 'dbpassword', 'database', 'sqlname');
            })($file);
        }
        return [
            'host' => (string)($vars['dbhostname'] ?? '127.0.0.1'),
            'user' => (string)($vars['dbusername'] ?? ''),
            'password' => (string)($vars['dbpassword'] ?? ''),
            'database' => (string)($vars['database'] ?? ''),
            'prefix' => (string)($vars['sqlname'] ?? 'app_'),
        ];
    }

    /** The init() `host` key: the CRM's table/column names. SalesMan's are the library's defaults. */
    public static function libraryHostMapping(): array
    {
        return [];
    }

    /** URL path of a file of this plugin as the browser reaches it. */
    public static function url(string $path = ''): string
    {
        return '/plugins/' . self::FOLDER . '/' . ltrim($path, '/');
    }

    /**
     * A card tab as the CRM's card_tab filter expects it.
     *
     * @return array<string, string>
     */
    public static function cardTab(string $name, string $title, string $url): array
    {
        return ['name' => $name, 'title' => $title, 'class' => '', 'icon' => self::ICON, 'url' => $url];
    }

    /**
     * Shows a lifecycle problem in the plugin manager instead of a blank page, and stops the request.
     * SalesMan's install form reads a JSON {"result"} into its alert; the other actions show the text
     * they print.
     */
    public static function reportToPluginManager(string $message): never
    {
        $action = (string)($_REQUEST['action'] ?? '');
        if (!headers_sent()) {
            header($action === 'install.do' ? 'Content-Type: application/json; charset=utf-8' : 'Content-Type: text/html; charset=utf-8');
        }
        $text = 'crmchats: ' . $message;
        if ($action === 'install.do') {
            echo json_encode(['result' => htmlspecialchars($text, ENT_QUOTES)], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
        } else {
            echo '<div class="warning crmchats-activation-error">', htmlspecialchars($text, ENT_QUOTES), '</div>';
        }
        exit;
    }
}
