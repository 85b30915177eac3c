<?php
/**
 * The plugin package in a simulated SalesMan, through the real PHP and the real library:
 * unpack → install (activation) → a page with the chat panel → the card tab and its page →
 * update → deactivation → re-activation → uninstall keeping the data → reinstall → uninstall
 * removing it. Each CRM request is a PHP process of its own (crm.php); the plugin's pages are served
 * by PHP's built-in server with the CRM's root as document root.
 *
 *   php scenario.php   with env SIM_ZIP (the package), SIM_CRM_ROOT (an empty folder),
 *                      SIM_DATABASE_URL (mysql://user[:pass]@host:port/db with the host tables)
 *
 * Prints one line per step; exits 1 at the first failed expectation.
 */

declare(strict_types=1);

error_reporting(E_ALL);
ini_set('display_errors', '1');

final class Sim
{
    public static string $root;
    public static string $crm;
    public static array $db;
    public static ?int $port = null;
    /** @var resource|null */
    public static $server = null;
    public static string $serverLog;

    public static function env(string $name): string
    {
        $value = getenv($name);
        if (!is_string($value) || $value === '') {
            self::fail("environment variable $name is not set");
        }
        return $value;
    }

    public static function fail(string $message): never
    {
        fwrite(STDERR, "FAILED: $message\n");
        if (self::$server !== null && is_file(self::$serverLog)) {
            fwrite(STDERR, "--- built-in server log ---\n" . file_get_contents(self::$serverLog) . "\n");
        }
        self::stopServer();
        exit(1);
    }

    public static function check(bool $ok, string $what, string $details = ''): void
    {
        if (!$ok) {
            self::fail($what . ($details !== '' ? "\n--- got ---\n" . $details : ''));
        }
    }

    public static function step(string $name): void
    {
        echo "ok  $name\n";
    }

    /** Environment of the CRM's PHP processes: nothing of the test driver's crmchats settings. */
    public static function childEnv(array $extra = []): array
    {
        $env = array_filter(getenv(), static fn (string $k): bool => !str_starts_with($k, 'CRMCHATS_'), ARRAY_FILTER_USE_KEY);
        return array_merge($env, $extra);
    }

    /** @return array{0:int, 1:string, 2:string} */
    public static function run(array $command, array $env = []): array
    {
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, self::childEnv($env));
        if (!is_resource($process)) {
            self::fail('cannot start ' . $command[0]);
        }
        $out = (string)stream_get_contents($pipes[1]);
        $err = (string)stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $out, $err];
    }

    /** One CRM request (crm.php); returns its output. */
    public static function crm(array $args, int $user = 1, array $phpArgs = [], array $env = []): string
    {
        clearstatcache();                 // the files are changed by other processes
        [$code, $out, $err] = self::run(array_merge([PHP_BINARY], $phpArgs, [__DIR__ . '/crm.php', self::$crm], $args), ['SIM_USER' => (string)$user] + $env);
        self::check($code === 0, 'crm.php ' . implode(' ', $args) . " exited with $code", $out . $err);
        return $out;
    }

    public static function sql(): mysqli
    {
        $db = self::$db;
        return new mysqli($db['host'], $db['user'], $db['pass'], $db['name'], $db['port']);
    }

    /** @return list<string> the crmchats tables of the CRM's database */
    public static function chatTables(): array
    {
        $rows = self::sql()->query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'app\\_crmchats\\_%'")->fetch_all();
        return array_column($rows, 0);
    }

    public static function count(string $sql): int
    {
        return (int)self::sql()->query($sql)->fetch_row()[0];
    }

    public static function startServer(): void
    {
        $socket = stream_socket_server('tcp://127.0.0.1:0');
        $name = (string)stream_socket_get_name($socket, false);
        fclose($socket);
        self::$port = (int)substr($name, (int)strrpos($name, ':') + 1);
        self::$serverLog = self::$crm . '/server.log';
        $command = [PHP_BINARY, '-d', 'ffi.enable=On', '-d', 'display_errors=0', '-S', '127.0.0.1:' . self::$port, '-t', self::$crm];
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', self::$serverLog, 'a'], 2 => ['file', self::$serverLog, 'a']], $pipes, self::$crm, self::childEnv());
        self::$server = $process;
        for ($i = 0; $i < 100; $i++) {
            $client = @stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 0.2);
            if ($client !== false) {
                fclose($client);
                return;
            }
            usleep(50_000);
        }
        self::fail('the built-in server did not start');
    }

    public static function stopServer(): void
    {
        if (is_resource(self::$server)) {
            proc_terminate(self::$server);
            proc_close(self::$server);
        }
        self::$server = null;
    }

    /** @return array{status:int, body:string, headers:list<string>} */
    public static function http(string $method, string $path, int $user, array $form = []): array
    {
        $headers = ['Cookie: ses=' . $user];
        $body = http_build_query($form);
        if ($method === 'POST') {
            $headers[] = 'Content-Type: application/x-www-form-urlencoded';
        }
        $context = stream_context_create(['http' => [
            'method' => $method, 'header' => $headers, 'content' => $body, 'ignore_errors' => true,
            'timeout' => 20, 'follow_location' => 0,
        ]]);
        $response = @file_get_contents('http://127.0.0.1:' . self::$port . $path, false, $context);
        $raw = $http_response_header ?? [];
        self::check($response !== false && $raw !== [], "no answer from $method $path");
        preg_match('~^HTTP/\S+\s+(\d{3})~', (string)$raw[0], $m);
        return ['status' => (int)($m[1] ?? 0), 'body' => (string)$response, 'headers' => $raw];
    }

    /** A library instance of the test itself (CLI FFI), on the packaged library, for seeding data. */
    public static function lib(): Crmchats
    {
        static $lib = null;
        if ($lib === null) {
            $bridge = self::$crm . '/plugins/crmchats/php-bridge';
            require_once $bridge . '/Crmchats.php';
            $lib = new Crmchats($bridge . '/lib/libcrmchats.so', $bridge . '/crmchats.ffi.h');
            $lib->init([
                'database_url' => self::env('SIM_DATABASE_URL'),
                'table_prefix' => 'app_',
                'identity' => 1,
                'storage_dir' => self::$crm . '/files/crmchats',
            ]);
        }
        return $lib;
    }
}

// --- the simulated CRM ---------------------------------------------------------------------------

Sim::$crm = rtrim(Sim::env('SIM_CRM_ROOT'), '/');
$zip = Sim::env('SIM_ZIP');
$url = parse_url(Sim::env('SIM_DATABASE_URL'));
Sim::$db = [
    'host' => $url['host'] ?? '127.0.0.1', 'port' => (int)($url['port'] ?? 3306),
    'user' => rawurldecode($url['user'] ?? 'root'), 'pass' => rawurldecode($url['pass'] ?? ''),
    'name' => ltrim($url['path'] ?? '', '/'),
];
foreach (['inc', 'cash', 'files', 'plugins'] as $dir) {
    @mkdir(Sim::$crm . "/$dir", 0777, true);
}
file_put_contents(Sim::$crm . '/inc/config.php', '<?php' . "\n"
    . '$dbhostname = ' . var_export(Sim::$db['host'] . ':' . Sim::$db['port'], true) . ";\n"
    . '$dbusername = ' . var_export(Sim::$db['user'], true) . ";\n"
    . '$dbpassword = ' . var_export(Sim::$db['pass'], true) . ";\n"
    . '$database = ' . var_export(Sim::$db['name'], true) . ";\n"
    . '$sqlname = "app_";' . "\n");
// The session: a "ses" cookie in the browser, SIM_USER for the CRM's CLI requests of this simulator.
file_put_contents(Sim::$crm . '/inc/dbconnector.php', <<<'PHP'
<?php
$identity = 1;
$iduser1 = (int)($_COOKIE['ses'] ?? getenv('SIM_USER') ?: 0);
$language = getenv('SIM_LANGUAGE') ?: 'ru-RU';
PHP);
file_put_contents(Sim::$crm . '/inc/auth.php', <<<'PHP'
<?php
if (empty($iduser1)) {
    http_response_code(401);
    echo 'SalesMan: sign in';
    exit;
}
PHP);

// A client with a contact, and a second contact, for the card tab.
$sql = Sim::sql();
$sql->set_charset('utf8mb4');
$sql->query("INSERT INTO app_clientcat (clid, title, phone, iduser, identity) VALUES (7, 'ООО «Ромашка»', '+7 900 111-22-33', 2, 1)");
$sql->query("INSERT INTO app_personcat (pid, clid, person, mob, iduser, identity) VALUES (9, 7, 'Иван Петров', '+7 900 444-55-66', 2, 1), (10, 0, 'Без компании', '', 2, 1)");
// A table whose name only looks like ours (LIKE's "_" matches any character): uninstall must keep it.
$sql->query('CREATE TABLE appxcrmchatsxkeep (id INT)');
$sql->query("INSERT INTO app_user (iduser, login, title, isadmin, identity) VALUES (3, 'boss', 'Ольга Главная', 'on', 1)");

// --- unpack ---------------------------------------------------------------------------------------

[$code, $out, $err] = command_exists('unzip')
    ? Sim::run(['unzip', '-q', $zip, '-d', Sim::$crm . '/plugins'])
    : Sim::run(['python3', '-m', 'zipfile', '-e', $zip, Sim::$crm . '/plugins']);
Sim::check($code === 0, 'the package unpacks', $out . $err);
$plugin = Sim::$crm . '/plugins/crmchats';
foreach (['plugin.json', 'crmchats.php', 'uninstall.php', 'host.php', 'php-bridge/Crmchats.php', 'php-bridge/lib/libcrmchats.so', 'php-bridge/crmchats.ffi.h', 'php-bridge/tick.php'] as $file) {
    Sim::check(is_file("$plugin/$file"), "the package holds crmchats/$file");
}
@chmod("$plugin/php-bridge/lib/libcrmchats.so", 0755);
$about = json_decode((string)file_get_contents("$plugin/plugin.json"), true);
foreach (['package', 'name', 'version', 'author', 'description', 'menu', 'iconSVGinBase64', 'request', 'textdomain'] as $key) {
    Sim::check(isset($about[$key]), "plugin.json has $key");
}
Sim::check($about['version'] === Sim::env('SIM_VERSION'), 'plugin.json carries Cargo.toml\'s version', (string)$about['version']);
Sim::check(!is_dir("$plugin/php-bridge/demo"), 'the package leaves out the demo page (no sign-in)');
Sim::step('package unpacked under plugins/crmchats');

// --- activation problems reach the plugin manager as words ----------------------------------------

$out = Sim::crm(['plugins', 'install.do', 'crmchats'], 1, ['-d', 'ffi.enable=0']);
$reply = json_decode($out, true);
Sim::check(is_array($reply) && str_contains((string)$reply['result'], 'FFI') && str_contains((string)$reply['result'], 'ffi.enable'),
    'install with FFI disabled answers the install form with what to set', $out);
Sim::check(Sim::chatTables() === [], 'nothing was created', implode(',', Sim::chatTables()));
Sim::sql()->query("DELETE FROM app_plugins WHERE name = 'crmchats'");
file_put_contents(Sim::$crm . '/cash/plugins.json', '[]');
Sim::step('FFI disabled: the install form shows ' . mb_substr((string)$reply['result'], 0, 60) . '…');

Sim::crm(['page'], 0);                           // the CRM made its plugins table
$so = "$plugin/php-bridge/lib/libcrmchats.so";
rename($so, "$so.away");
$out = Sim::crm(['plugins', 'activate', 'crmchats']);
rename("$so.away", $so);
Sim::check(str_contains($out, 'crmchats-activation-error') && str_contains($out, 'libcrmchats.so') && !str_contains($out, 'Плагин активирован'),
    'activation without the library says which file is missing', $out);
Sim::step('library missing: the plugin manager shows ' . mb_substr(strip_tags($out), 0, 70) . '…');

// A database user that may read but not create tables (skipped when the test's own user may not
// create users, e.g. CRMCHATS_TEST_MYSQL pointing at a restricted account).
$reader = 'crmro_' . substr(md5(Sim::$db['name']), 0, 8);
try {
    $sql->query("CREATE USER IF NOT EXISTS '$reader'@'%' IDENTIFIED BY 'ro-pass'");
} catch (mysqli_sql_exception $e) {
    $reader = null;
    Sim::step('SKIPPED the database-rights check: ' . $e->getMessage());
}
if ($reader !== null) {
    $sql->query("CREATE USER IF NOT EXISTS '$reader'@'localhost' IDENTIFIED BY 'ro-pass'");
    $sql->query("GRANT SELECT ON `" . Sim::$db['name'] . "`.* TO '$reader'@'%'");
    $sql->query("GRANT SELECT ON `" . Sim::$db['name'] . "`.* TO '$reader'@'localhost'");
    foreach (['%', 'localhost'] as $from) {          // the CRM's own bookkeeping works; only CREATE is missing
        $sql->query("GRANT INSERT, UPDATE, DELETE ON `" . Sim::$db['name'] . "`.`app_plugins` TO '$reader'@'$from'");
    }
    $config = (string)file_get_contents(Sim::$crm . '/inc/config.php');
    file_put_contents(Sim::$crm . '/inc/config.php', $config . '$dbusername = ' . var_export($reader, true) . '; $dbpassword = "ro-pass";' . "\n");
    $out = Sim::crm(['plugins', 'install.do', 'crmchats']);
    file_put_contents(Sim::$crm . '/inc/config.php', $config);
    $sql->query("DROP USER IF EXISTS '$reader'@'%'");
    $sql->query("DROP USER IF EXISTS '$reader'@'localhost'");
    $reply = json_decode($out, true);
    Sim::check(is_array($reply) && str_contains((string)$reply['result'], 'CREATE') && str_contains((string)$reply['result'], 'denied'),
        'activation with a read-only database user names the rights it needs', $out);
    Sim::sql()->query("DELETE FROM app_plugins WHERE name = 'crmchats'");
    file_put_contents(Sim::$crm . '/cash/plugins.json', '[]');
    Sim::step('no CREATE right: the install form shows ' . mb_substr((string)$reply['result'], 0, 70) . '…');
}

// --- install = activation -------------------------------------------------------------------------

$out = Sim::crm(['plugins', 'install.do', 'crmchats']);
Sim::check(json_decode($out, true) === ['result' => 'Сделано'], 'install answers the plugin manager', $out);
$tables = Sim::chatTables();
foreach (['app_crmchats_dialogs', 'app_crmchats_messages', 'app_crmchats_operators', 'app_crmchats_channels'] as $table) {
    Sim::check(in_array($table, $tables, true), "activation created $table", implode(',', $tables));
}
Sim::check(is_dir(Sim::$crm . '/files/crmchats') && is_file(Sim::$crm . '/files/crmchats/.htaccess'), 'activation created the storage folder, closed to the web');
$operators = array_map('intval', array_column(Sim::sql()->query('SELECT user_id FROM app_crmchats_operators ORDER BY user_id')->fetch_all(), 0));
Sim::check($operators === [1, 3], 'the CRM\'s admins (1, 3) became operators, the manager (2) not', json_encode($operators));
Sim::check(json_decode((string)file_get_contents(Sim::$crm . '/cash/plugins.json'), true) === ['crmchats'], 'the plugin is active');
Sim::step('installed: tables ' . count($tables) . ', admins 1 and 3 are operators');

// --- a page with the chat panel ---------------------------------------------------------------------

$page = Sim::crm(['page'], 2);
Sim::check(str_contains($page, 'id="crmchats-panel"'), 'main__body prints the chat panel', $page);
Sim::check(str_contains($page, '/plugins/crmchats/assets/panel.js'), 'main__js loads the panel script', $page);
Sim::check(str_contains($page, '/plugins/crmchats/assets/panel.css'), 'main__css loads the panel style', $page);
Sim::check(str_contains($page, 'data-console-url="/plugins/crmchats/php-bridge/console/"'), 'the panel opens the console', $page);
Sim::check(!str_contains(Sim::crm(['page'], 0), 'crmchats-panel'), 'no panel for a guest');
Sim::step('a CRM page carries the chat panel');

// --- conversations of the client ------------------------------------------------------------------

$lib = Sim::lib();
$site = $lib->call('channels.create', ['type' => 'widget', 'name' => 'Сайт'])['channel'];
$shop = $lib->call('channels.create', ['type' => 'widget', 'name' => 'Магазин'])['channel'];
$talk = static function (array $channel, string $name, string $text, array $files = []) use ($lib): int {
    $token = $lib->call('widget.start', ['channel_id' => $channel['id']])['visitor_token'];
    $lib->call('widget.send', ['channel_id' => $channel['id'], 'visitor_token' => $token, 'name' => $name, 'text' => $text, 'attachments' => $files]);
    $dialogs = $lib->listDialogs(['operator_id' => 1, 'status' => 'all', 'channel_id' => (int)$channel['id']])['dialogs'];
    return (int)$dialogs[0]['visitor']['id'];
};
$requisites = "ИНН 7701234567\nКПП 770101001\n";
$ivan = $talk($site, 'Иван', "Здравствуйте! Нужен счёт <img src=x onerror=alert(1)>",
    [['data_base64' => base64_encode($requisites), 'name' => 'Реквизиты.txt', 'mime' => 'text/plain']]);
$lib->call('visitors.link', ['operator_id' => 1, 'visitor_id' => $ivan, 'contact_id' => 9]);
$office = $talk($shop, 'Бухгалтерия', 'Пришлите акт сверки');
$lib->call('visitors.link', ['operator_id' => 1, 'visitor_id' => $office, 'client_id' => 7]);
$stranger = $talk($site, 'Аноним', 'Сколько стоит доставка?');
Sim::step('two dialogs of client 7 (one through contact 9) on two channels, one of nobody\'s');

$tabs = json_decode(Sim::crm(['card-tab', 'client', '7'], 2), true);
Sim::check(is_array($tabs) && count($tabs) === 1 && $tabs[0]['title'] === 'Диалоги' && $tabs[0]['url'] === '/plugins/crmchats/card.php',
    'the client card gets the Dialogs tab', json_encode($tabs, JSON_UNESCAPED_UNICODE));
foreach (['name', 'title', 'class', 'icon', 'url'] as $key) {
    Sim::check(array_key_exists($key, $tabs[0]), "the tab has $key");
}
$tabs = json_decode(Sim::crm(['card-tab', 'contact', '9'], 2), true);
Sim::check(count($tabs) === 1 && $tabs[0]['url'] === '/plugins/crmchats/card.php', 'the contact card gets the tab', json_encode($tabs));
Sim::check(json_decode(Sim::crm(['card-tab', 'deal', '5'], 2), true) === [], 'the deal card does not');
$english = json_decode(Sim::crm(['card-tab', 'client', '7'], 2, [], ['SIM_LANGUAGE' => 'en-EN']), true);
Sim::check(($english[0]['title'] ?? null) === 'Dialogs', 'in an English CRM the tab is "Dialogs"', json_encode($english));
Sim::step('card_tab adds "Диалоги" to client and contact cards');

Sim::startServer();
$card = Sim::http('GET', '/plugins/crmchats/card.php?clid=7', 1);
Sim::check($card['status'] === 200, 'the tab page answers', $card['body']);
foreach (['Пришлите акт сверки', 'Здравствуйте! Нужен счёт', 'Написать в Сайт', 'Написать в Магазин', '/plugins/crmchats/php-bridge/console/?dialog='] as $text) {
    Sim::check(str_contains($card['body'], $text), "the client's tab shows: $text", $card['body']);
}
Sim::check(!str_contains($card['body'], '<img src=x') && str_contains($card['body'], '&lt;img src=x'), 'message text is escaped', $card['body']);
Sim::check(!str_contains($card['body'], 'Сколько стоит доставка'), 'another visitor\'s dialog is not on the card', $card['body']);
$contactCard = Sim::http('GET', '/plugins/crmchats/card.php?pid=9', 1);
Sim::check(str_contains($contactCard['body'], 'Здравствуйте! Нужен счёт') && !str_contains($contactCard['body'], 'Пришлите акт сверки'),
    'the contact\'s tab shows the contact\'s dialogs only', $contactCard['body']);
$empty = Sim::http('GET', '/plugins/crmchats/card.php?pid=10', 1);
Sim::check($empty['status'] === 200 && str_contains($empty['body'], 'crmchats-empty'), 'a contact who never wrote gets the empty note', $empty['body']);
$guest = Sim::http('GET', '/plugins/crmchats/card.php?clid=7', 0);
Sim::check($guest['status'] === 401 && !str_contains($guest['body'], 'Пришлите'), 'a guest gets the CRM\'s sign-in, not the dialogs', $guest['body']);
Sim::check(preg_match('~href="(/plugins/crmchats/php-bridge/attachment\.php\?id=\d+)"[^>]*>📎 Реквизиты\.txt~u', $card['body'], $link) === 1,
    'the tab links the visitor\'s file', $card['body']);
$file = Sim::http('GET', $link[1], 1);
Sim::check($file['status'] === 200 && $file['body'] === $requisites, 'the file opens for the signed-in CRM user (attachment.php gets the CRM session)', $file['status'] . ' ' . $file['body']);
Sim::check(Sim::http('GET', $link[1], 0)['status'] === 401, 'and not for a guest');
Sim::step('the tab\'s page lists the client\'s dialogs and messages, with a write button per channel');

$unread = Sim::http('GET', '/plugins/crmchats/unread.php', 1);
$counts = json_decode($unread['body'], true);
Sim::check($unread['status'] === 200 && is_array($counts) && $counts['unread'] === 3 && $counts['dialogs'] === 3 && $counts['latest'] !== null && $counts['operator'] === true,
    'the chat button counts the three unread visitor messages of the queue', $unread['body']);
Sim::check(Sim::http('GET', '/plugins/crmchats/unread.php', 0)['status'] === 401, 'no count for a guest');
$managerCounts = json_decode(Sim::http('GET', '/plugins/crmchats/unread.php', 2)['body'], true);
Sim::check($managerCounts['unread'] === 0 && $managerCounts['operator'] === false, 'a CRM user who is not an operator has nothing to read', json_encode($managerCounts));
Sim::step('unread.php: ' . $unread['body']);

// The chat button in a real browser: panel.js fetches the count and shows it on the button and title.
$chromium = command_path('chromium') ?? command_path('chromium-browser') ?? command_path('google-chrome');
if ($chromium === null) {
    Sim::step('SKIPPED the browser check of panel.js: no chromium on this machine');
} else {
    file_put_contents(Sim::$crm . '/page.php', '<?php
        if (isset($_GET["ses"])) { setcookie("ses", (string)(int)$_GET["ses"], 0, "/"); $_COOKIE["ses"] = $_GET["ses"]; }
        $rootpath = __DIR__;
        require __DIR__ . "/inc/config.php";
        require __DIR__ . "/inc/dbconnector.php";
        require ' . var_export(__DIR__ . '/Hooks.php', true) . ';
        $hooks = new SimHooks();
        foreach (json_decode((string)file_get_contents(__DIR__ . "/cash/plugins.json"), true) ?: [] as $f) {
            require_once __DIR__ . "/plugins/$f/" . strtolower($f) . ".php";
        }
        echo "<!DOCTYPE html><html><head><title>SalesMan</title>";
        $hooks->do_action("main__css");
        $hooks->do_action("main__js");
        echo "</head><body><div id=crm>CRM</div>";
        $hooks->do_action("main__body");
        echo "</body></html>";');
    [$code, $dom, $err] = Sim::run([$chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
        '--user-data-dir=' . Sim::$crm . '/chromium', '--virtual-time-budget=5000', '--dump-dom',
        'http://127.0.0.1:' . Sim::$port . '/page.php?ses=1']);
    Sim::check($code === 0 && preg_match('~<span class="crmchats-badge">3</span>~', $dom) === 1 && str_contains($dom, '<title>(3) SalesMan</title>'),
        'in a browser the chat button shows the 3 unread messages, also in the title', $dom . $err);
    Sim::step('chromium: the chat button shows 3 unread');
}

// --- update -------------------------------------------------------------------------------------------

$messagesBefore = Sim::count('SELECT COUNT(*) FROM app_crmchats_messages');
$json = json_decode((string)file_get_contents("$plugin/plugin.json"), true);
$json['version'] = Sim::env('SIM_VERSION') . '-next';
file_put_contents("$plugin/plugin.json", json_encode($json, JSON_UNESCAPED_UNICODE));
$out = Sim::crm(['plugins', 'update', 'crmchats']);
Sim::check($out === 'Плагин обновлен', 'update runs without a problem', $out);
$state = json_decode((string)file_get_contents(Sim::$crm . '/files/crmchats/plugin-state.json'), true);
Sim::check(($state['version'] ?? null) === $json['version'] && isset($state['updated_at']), 'update recorded the new version', json_encode($state));
Sim::check(Sim::count('SELECT COUNT(*) FROM app_crmchats_messages') === $messagesBefore, 'update kept the messages');
Sim::step('updated in place, ' . $messagesBefore . ' messages kept');

// --- deactivation stops timed work --------------------------------------------------------------------

$tick = static fn (): string => implode("\n", array_slice(Sim::run([PHP_BINARY, "$plugin/php-bridge/tick.php"]), 1));
Sim::check(str_contains($tick(), '"ran"'), 'cron tick runs while active');
$out = Sim::crm(['plugins', 'deactivate', 'crmchats']);
Sim::check($out === 'Плагин деактивирован', 'deactivation is quiet', $out);
Sim::check(is_file(Sim::$crm . '/files/crmchats/timed-work.off'), 'deactivation leaves the timed-work flag');
$stopped = $tick();
Sim::check(str_contains($stopped, '"stopped":true') && !str_contains($stopped, '"closed"'), 'cron tick does nothing while deactivated', $stopped);
Sim::check(Sim::lib()->timedWorkStopped() && Sim::lib()->tickIfDue(0) === null, 'the webhook\'s opportunistic tick does nothing either');
Sim::check(!str_contains(Sim::crm(['page'], 1), 'crmchats-panel'), 'no panel while deactivated');
Sim::check(json_decode(Sim::crm(['card-tab', 'client', '7'], 1), true) === [], 'no tab while deactivated');
$out = Sim::crm(['plugins', 'activate', 'crmchats']);
Sim::check($out === 'Плагин активирован', 'reactivation is quiet', $out);
$ticked = $tick();
clearstatcache();
Sim::check(!is_file(Sim::$crm . '/files/crmchats/timed-work.off') && str_contains($ticked, '"ran"'), 'reactivation restarts timed work', $ticked);
Sim::step('deactivation stops cron and the opportunistic tick; activation restarts them');

// --- uninstall keeping the data, reinstall ---------------------------------------------------------------

$out = Sim::crm(['plugins', 'uninstall', 'crmchats']);
Sim::check($out === 'Плагин удален', 'uninstall is quiet', $out);
Sim::check(count(Sim::chatTables()) === count($tables), 'uninstall with the switch off keeps the tables', implode(',', Sim::chatTables()));
Sim::check(Sim::count('SELECT COUNT(*) FROM app_crmchats_messages') === $messagesBefore && is_file(Sim::$crm . '/files/crmchats/plugin-state.json'),
    'and the messages and files');
Sim::check(Sim::count("SELECT COUNT(*) FROM app_plugins WHERE name = 'crmchats'") === 0, 'the CRM forgot the plugin');
$out = Sim::crm(['plugins', 'install.do', 'crmchats']);
Sim::check(json_decode($out, true) === ['result' => 'Сделано'], 'reinstall answers the plugin manager', $out);
$card = Sim::http('GET', '/plugins/crmchats/card.php?clid=7', 1);
Sim::check(str_contains($card['body'], 'Пришлите акт сверки'), 'after a reinstall the history is back', $card['body']);
Sim::step('uninstall (switch off) kept ' . count($tables) . ' tables; reinstall shows the history again');

// --- the switch on: uninstall removes everything ------------------------------------------------------------

$form = Sim::http('GET', '/plugins/crmchats/index.php', 1);
Sim::check($form['status'] === 200 && preg_match('/name="token" value="([0-9a-f]+)"/', $form['body'], $m) === 1, 'the menu page shows admins the switch', $form['body']);
Sim::check(!str_contains($form['body'], 'name="remove_data_on_uninstall" value="on"' . "\n      checked"), 'the switch is off by default');
$manager = Sim::http('GET', '/plugins/crmchats/index.php', 2);
Sim::check($manager['status'] === 302, 'a manager is sent to the console instead', (string)$manager['status']);
$forged = Sim::http('POST', '/plugins/crmchats/index.php', 1, ['token' => 'forged', 'remove_data_on_uninstall' => 'on']);
Sim::check($forged['status'] === 400, 'a post without the form\'s token changes nothing', $forged['body']);
$saved = Sim::http('POST', '/plugins/crmchats/index.php', 1, ['token' => $m[1], 'remove_data_on_uninstall' => 'on']);
Sim::check($saved['status'] === 200 && str_contains($saved['body'], 'Сохранено'), 'the admin turns the switch on', $saved['body']);

$out = Sim::crm(['plugins', 'uninstall', 'crmchats']);
Sim::check($out === 'Плагин удален', 'uninstall is quiet', $out);
Sim::check(Sim::chatTables() === [], 'uninstall with the switch on drops every crmchats table', implode(',', Sim::chatTables()));
Sim::check(!is_dir(Sim::$crm . '/files/crmchats'), 'and removes the storage folder');
Sim::check(Sim::count('SELECT COUNT(*) FROM app_user') === 3 && Sim::count('SELECT COUNT(*) FROM app_clientcat') === 1, 'the CRM\'s own tables are untouched');
Sim::check(Sim::count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'appxcrmchatsxkeep'") === 1,
    'a table that only looks like ours is kept');
Sim::step('uninstall (switch on) removed the tables and files, the CRM\'s tables untouched');

// The built-in server kept the library loaded, as a PHP-FPM worker does: installing again through it
// must create the tables again although the configuration did not change.
file_put_contents(Sim::$crm . '/admin-plugins.php', '<?php
    $argv = ["crm.php", __DIR__, "plugins", (string)$_GET["action"], "crmchats"];
    require ' . var_export(__DIR__ . '/crm.php', true) . ';');
$out = Sim::http('GET', '/admin-plugins.php?action=install.do', 1);
Sim::check(json_decode($out['body'], true) === ['result' => 'Сделано'], 'a reinstall in the same PHP process as before answers the plugin manager', $out['body']);
Sim::check(count(Sim::chatTables()) === count($tables), 'and creates the tables again', implode(',', Sim::chatTables()));
$card = Sim::http('GET', '/plugins/crmchats/card.php?clid=7', 1);
Sim::check($card['status'] === 200 && str_contains($card['body'], 'crmchats-empty'), 'the card tab works on the fresh tables', $card['body']);
Sim::stopServer();
Sim::step('reinstalled through a PHP process that kept the library: tables created again');

echo "scenario passed\n";

function command_exists(string $name): bool
{
    return command_path($name) !== null;
}

function command_path(string $name): ?string
{
    $path = trim((string)shell_exec('command -v ' . escapeshellarg($name) . ' 2>/dev/null'));
    return $path !== '' ? $path : null;
}
