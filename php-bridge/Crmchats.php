<?php
/**
 * PHP side of crmchats: loads libcrmchats.so through PHP's FFI extension and turns its JSON C ABI
 * into typed PHP calls.
 *
 * One require-able file: the Crmchats class and CrmchatsException. Every library call takes JSON and
 * returns an owned `char *` holding {"ok":true,"result":...} or {"ok":false,"error":{...}}; this class
 * copies the text into PHP, frees the pointer with crmchats_free() and either returns `result` or
 * throws CrmchatsException carrying the stable error code.
 *
 *     require '/path/to/php-bridge/Crmchats.php';
 *     $chats = Crmchats::fromEnvironment();            // loads the library, init() with config.php
 *     $page = $chats->listDialogs(['operator_id' => 1, 'status' => 'open']);
 *
 * Error codes thrown by this file itself (besides the library's stable codes):
 *   ffi_unavailable      the FFI extension is missing, disabled or restricted by ffi.enable
 *   library_unavailable  the .so or the header cannot be found or loaded
 *   invalid_response     the library returned something that is not the JSON envelope
 */

declare(strict_types=1);

/** A failed crmchats call: getErrorCode() is the stable snake_case code to branch on. */
class CrmchatsException extends RuntimeException
{
    /** @param array<string, mixed> $details the whole error object of the envelope */
    public function __construct(
        private string $errorCode,
        string $message,
        private ?int $retryAfter = null,
        private array $details = [],
        ?Throwable $previous = null,
    ) {
        parent::__construct($message !== '' ? $message : $errorCode, 0, $previous);
    }

    /** Stable code: invalid_argument, not_found, rate_limited, ..., or one of this file's own codes. */
    public function getErrorCode(): string
    {
        return $this->errorCode;
    }

    /** Seconds to wait before retrying (rate_limited and similar), when the library said so. */
    public function getRetryAfter(): ?int
    {
        return $this->retryAfter;
    }

    /** @return array<string, mixed> the error object as the library sent it */
    public function getDetails(): array
    {
        return $this->details;
    }
}

/** Typed access to libcrmchats through FFI. One instance per process is enough (see shared()). */
final class Crmchats
{
    /** FFI_SCOPE of the generated header; preload.php registers the library under this name. */
    public const SCOPE = 'CRMCHATS';

    private const JSON_FLAGS = JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR;

    /**
     * Request keys whose values are JSON objects (maps) in the library's contract: an empty PHP array
     * under these keys is sent as {} instead of [].
     */
    private const MAP_KEYS = ['headers', 'query', 'settings', 'providers', 'host'];

    /** The functions the generated header must declare (checked when loading it from a file). */
    public const FUNCTIONS = [
        'crmchats_init', 'crmchats_handle_webhook', 'crmchats_send_message', 'crmchats_list_dialogs',
        'crmchats_call', 'crmchats_free', 'crmchats_version',
    ];

    /** @var array<string, FFI> loaded libraries by "library|header", so a process dlopen()s once */
    private static array $loaded = [];

    private static ?Crmchats $shared = null;

    private FFI $ffi;

    /** storage_dir of the last init(): where the plugin leaves TIMED_WORK_OFF_FILE when deactivated. */
    private ?string $storageDir = null;

    /** Present in storage_dir while the CRM plugin is deactivated: tickIfDue() and tick.php do nothing. */
    public const TIMED_WORK_OFF_FILE = 'timed-work.off';

    /**
     * Loads the library. With no arguments, a library preloaded under FFI_SCOPE "CRMCHATS"
     * (opcache.preload = preload.php) is used when present; otherwise the paths below are loaded.
     *
     * @param string|null $libraryPath default: env CRMCHATS_LIB, else __DIR__/lib/libcrmchats.so,
     *                                 else __DIR__/../target/release/libcrmchats.so
     * @param string|null $headerPath  default: env CRMCHATS_HEADER, else __DIR__/crmchats.ffi.h
     * @throws CrmchatsException ffi_unavailable or library_unavailable
     */
    public function __construct(?string $libraryPath = null, ?string $headerPath = null)
    {
        if (!extension_loaded('ffi')) {
            throw new CrmchatsException(
                'ffi_unavailable',
                'The PHP FFI extension is not loaded. Enable it (php.ini: extension=ffi; on Debian it ships in php'
                    . PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION . '-common: `phpenmod ffi`), then restart PHP-FPM.',
            );
        }
        if ($libraryPath === null && $headerPath === null) {
            $scoped = self::preloadedScope();
            if ($scoped !== null) {
                $this->ffi = $scoped;
                return;
            }
        }
        if (self::isRestricted()) {
            throw new CrmchatsException('ffi_unavailable', self::restrictedAdvice());
        }
        $this->ffi = self::load($libraryPath ?? self::defaultLibraryPath(), $headerPath ?? self::defaultHeaderPath());
    }

    /**
     * The process-wide instance, initialised once with config.php's array (or $config when given).
     *
     * Under PHP-FPM a worker keeps the loaded library between requests; init() is still called once per
     * PHP request that uses this, with the same configuration.
     *
     * @param array<string, mixed>|null $config init() configuration; default: require config.php
     */
    public static function shared(?array $config = null): self
    {
        if (self::$shared === null) {
            $instance = new self();
            $instance->init($config ?? self::loadConfig());
            self::$shared = $instance;
        }
        return self::$shared;
    }

    /** Alias of shared(): library + configuration from the environment (env vars / config.local.php). */
    public static function fromEnvironment(): self
    {
        return self::shared();
    }

    /** @return array<string, mixed> the init() configuration built by config.php */
    public static function loadConfig(): array
    {
        $config = require __DIR__ . '/config.php';
        if (!is_array($config)) {
            throw new CrmchatsException('invalid_argument', __DIR__ . '/config.php must return an array');
        }
        return $config;
    }

    public static function defaultLibraryPath(): string
    {
        $env = getenv('CRMCHATS_LIB');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        $bundled = __DIR__ . '/lib/libcrmchats.so';
        if (is_file($bundled)) {
            return $bundled;
        }
        return __DIR__ . '/../target/release/libcrmchats.so';
    }

    public static function defaultHeaderPath(): string
    {
        $env = getenv('CRMCHATS_HEADER');
        if (is_string($env) && $env !== '') {
            return $env;
        }
        return __DIR__ . '/crmchats.ffi.h';
    }

    /**
     * The declarations of a cbindgen header in the form FFI::cdef() accepts: preprocessor lines
     * (#define FFI_SCOPE/FFI_LIB, include guards) are dropped; FFI::load() would read only the two
     * FFI_ defines, and needs an absolute FFI_LIB, so cdef with an explicit library path is used instead.
     */
    public static function declarationsOf(string $header): string
    {
        $lines = preg_split('/\R/', $header) ?: [];
        $kept = array_filter($lines, static fn (string $line): bool => !str_starts_with(ltrim($line), '#'));
        return implode("\n", $kept);
    }

    /**
     * Initialises the library: opens the database, applies migrations, configures providers/logging.
     *
     * @param array<string, mixed> $config database_url, table_prefix, identity, storage_dir,
     *                                     public_base_url, providers, http_proxy, log_file, log_level, host
     * @return array<string, mixed> the library's result
     */
    public function init(array $config): array
    {
        $json = self::encode($config);
        $result = self::asArray($this->take($this->ffi->crmchats_init($json), 'crmchats_init'));
        $this->storageDir = is_string($config['storage_dir'] ?? null) ? $config['storage_dir'] : null;
        return $result;
    }

    /**
     * Hands a provider's webhook request to the library.
     *
     * @param array{channel_id:int, method:string, headers?:array<string,string>, query?:array<string,string>} $request
     * @param string $body the raw request body, passed to C without a copy
     * @return array{status:int, headers:array<string,string>, body:string} the response to send back as is
     */
    public function handleWebhook(array $request, string $body): array
    {
        $request += ['headers' => [], 'query' => []];
        // Headers and query come from the network: a stray non-UTF-8 byte there must not turn into an
        // exception (webhook.php would answer 500 and the provider retry forever), so it becomes U+FFFD.
        // The body, which signatures cover, is passed byte for byte.
        $json = self::encode($request, JSON_INVALID_UTF8_SUBSTITUTE);
        $ptr = $this->ffi->crmchats_handle_webhook($json, $body, strlen($body));
        return self::asArray($this->take($ptr, 'crmchats_handle_webhook'));
    }

    /**
     * Sends an operator's message (text and/or attachments given as path or data_base64).
     *
     * @param array{dialog_id:int, operator_id:int, text?:string, attachments?:list<array<string,mixed>>} $request
     * @return array{message:array<string,mixed>}
     */
    public function sendMessage(array $request): array
    {
        $json = self::encode($request);
        return self::asArray($this->take($this->ffi->crmchats_send_message($json), 'crmchats_send_message'));
    }

    /**
     * One page of an operator's dialogs.
     *
     * @param array{operator_id:int, status?:string, channel_id?:int, search?:string, limit?:int, cursor?:string|null} $request
     * @return array{dialogs:list<array<string,mixed>>, next_cursor:string|null}
     */
    public function listDialogs(array $request): array
    {
        $json = self::encode($request);
        return self::asArray($this->take($this->ffi->crmchats_list_dialogs($json), 'crmchats_list_dialogs'));
    }

    /**
     * Any other operation by name: channels.create, messages.list, dialogs.read, operators.list, ...
     *
     * @param array<string, mixed> $params sent as a JSON object ({} when empty)
     * @return mixed the envelope's result
     */
    public function call(string $method, array $params = []): mixed
    {
        if (str_contains($method, "\0")) {
            throw new CrmchatsException('invalid_argument', 'method name contains a NUL byte');
        }
        $json = self::encode($params);
        return $this->take($this->ffi->crmchats_call($method, $json), 'crmchats_call');
    }

    /**
     * Runs the timed work (auto-close, queue, clean-up) from an ordinary request, at most once a
     * minute: a file's age keeps this process from asking more often, and the library itself
     * skips the run when any web server ran it less than a minute ago (if_due) or is running it
     * now (a database lock). Never throws: a request must not fail because of housekeeping.
     * Cron is the dependable way (see php-bridge/tick.php); this keeps things moving without it.
     *
     * @return array<string, mixed>|null what tick reported, or null when not due here
     */
    public function tickIfDue(int $intervalSeconds = 60): ?array
    {
        if ($this->timedWorkStopped()) {
            return null;
        }
        $stamp = self::tickStampPath();
        $last = @filemtime($stamp);
        if ($last !== false && time() - $last < $intervalSeconds) {
            return null;
        }
        @touch($stamp);
        try {
            $result = $this->call('tick', ['if_due' => true]);
            return is_array($result) ? $result : null;
        } catch (Throwable $e) {
            error_log('crmchats tick: ' . ($e instanceof CrmchatsException ? $e->getErrorCode() . ': ' : '') . $e->getMessage());
            return null;
        }
    }

    /** Whether the CRM plugin is deactivated (its flag file in storage_dir): timed work must not run. */
    public function timedWorkStopped(): bool
    {
        return $this->storageDir !== null && is_file($this->storageDir . '/' . self::TIMED_WORK_OFF_FILE);
    }

    /** The file whose age says when this PHP installation last asked for a tick. */
    public static function tickStampPath(): string
    {
        return sys_get_temp_dir() . '/crmchats-tick-' . md5(__DIR__ . '|' . (string)getenv('CRMCHATS_DATABASE_URL'));
    }

    /** The library's version string (static in the library, never freed). */
    public function version(): string
    {
        return (string)$this->ffi->crmchats_version();
    }

    /**
     * The raw FFI object, for callers that need the C functions themselves (tests of the ABI).
     * Pointers returned by it must be given back to crmchats_free().
     */
    public function ffi(): FFI
    {
        return $this->ffi;
    }

    /**
     * Reads an envelope returned by the library, frees it, and returns `result` or throws.
     *
     * @throws CrmchatsException
     */
    public function take(?FFI\CData $ptr, string $function): mixed
    {
        if ($ptr === null) {                       // FFI turns a NULL char * into PHP null
            throw new CrmchatsException('invalid_response', "$function returned NULL");
        }
        try {
            $json = FFI::string($ptr);
        } finally {
            $this->ffi->crmchats_free($ptr);
        }
        return self::unwrap($json, $function);
    }

    /**
     * Decodes an envelope's text: returns `result` for ok:true, throws CrmchatsException for ok:false.
     *
     * @throws CrmchatsException
     */
    public static function unwrap(string $json, string $function = 'crmchats'): mixed
    {
        try {
            $envelope = json_decode($json, true, 512, JSON_THROW_ON_ERROR);
        } catch (JsonException $e) {
            throw new CrmchatsException('invalid_response', "$function returned invalid JSON: " . $e->getMessage(), null, [], $e);
        }
        if (!is_array($envelope) || !isset($envelope['ok']) || !is_bool($envelope['ok'])) {
            throw new CrmchatsException('invalid_response', "$function returned JSON without an \"ok\" flag");
        }
        if ($envelope['ok']) {
            return $envelope['result'] ?? null;
        }
        $error = is_array($envelope['error'] ?? null) ? $envelope['error'] : [];
        $code = is_string($error['code'] ?? null) && $error['code'] !== '' ? $error['code'] : 'invalid_response';
        $message = is_string($error['message'] ?? null) ? $error['message'] : '';
        $retryAfter = isset($error['retry_after']) && is_numeric($error['retry_after']) ? (int)$error['retry_after'] : null;
        throw new CrmchatsException($code, $message, $retryAfter, $error);
    }

    /**
     * JSON for a request: unescaped UTF-8, {} for an empty request and for empty map-valued keys.
     *
     * @throws JsonException for invalid UTF-8 unless $extraFlags says otherwise
     */
    public static function encode(array $value, int $extraFlags = 0): string
    {
        return json_encode(self::objectify($value, true), self::JSON_FLAGS | $extraFlags);
    }

    private static function objectify(array $value, bool $isMap): array|stdClass
    {
        if ($value === []) {
            return $isMap ? new stdClass() : [];
        }
        foreach ($value as $key => $item) {
            if (is_array($item)) {
                $value[$key] = self::objectify($item, is_string($key) && in_array($key, self::MAP_KEYS, true));
            }
        }
        return $value;
    }

    /** @return array<string, mixed> */
    private static function asArray(mixed $result): array
    {
        return is_array($result) ? $result : [];
    }

    /** The FFI scope registered by opcache.preload, or null when there is none. */
    private static function preloadedScope(): ?FFI
    {
        try {
            return FFI::scope(self::SCOPE);
        } catch (Throwable) {
            return null;
        }
    }

    /** @throws CrmchatsException */
    private static function load(string $libraryPath, string $headerPath): FFI
    {
        $key = $libraryPath . '|' . $headerPath;
        if (isset(self::$loaded[$key])) {
            return self::$loaded[$key];
        }
        if (!is_file($headerPath) || !is_readable($headerPath)) {
            throw new CrmchatsException('library_unavailable', "crmchats header not found or not readable: $headerPath");
        }
        if (!is_file($libraryPath)) {
            throw new CrmchatsException(
                'library_unavailable',
                "libcrmchats.so not found at $libraryPath (set CRMCHATS_LIB or copy it to " . __DIR__ . '/lib/)',
            );
        }
        $declarations = self::declarationsOf((string)file_get_contents($headerPath));
        foreach (self::FUNCTIONS as $function) {
            if (!preg_match('/\b' . $function . '\s*\(/', $declarations)) {
                throw new CrmchatsException('library_unavailable', "$headerPath does not declare $function(): a header of another version?");
            }
        }
        try {
            $ffi = FFI::cdef($declarations, $libraryPath);
        } catch (FFI\Exception | FFI\ParserException $e) {
            if (str_contains($e->getMessage(), 'restricted')) {
                throw new CrmchatsException('ffi_unavailable', self::restrictedAdvice(), null, [], $e);
            }
            throw new CrmchatsException(
                'library_unavailable',
                "cannot load $libraryPath with $headerPath: " . $e->getMessage(),
                null,
                [],
                $e,
            );
        }
        return self::$loaded[$key] = $ffi;
    }

    /**
     * Whether ffi.enable forbids FFI::cdef() here: "preload" allows it only in the CLI (and in preloaded
     * code, which is how the FFI_SCOPE path works), Off forbids it everywhere.
     */
    private static function isRestricted(): bool
    {
        $setting = strtolower((string)ini_get('ffi.enable'));
        if ($setting === 'preload') {
            return PHP_SAPI !== 'cli';
        }
        return !in_array($setting, ['1', 'on', 'true', 'yes'], true);
    }

    /** What the admin has to set, for the SAPI and ffi.enable value in force. */
    private static function restrictedAdvice(): string
    {
        $setting = (string)ini_get('ffi.enable');
        $ini = php_ini_loaded_file() ?: 'php.ini';
        if ($setting === 'preload') {
            return 'FFI API is restricted: ffi.enable=preload allows FFI only in the CLI or for preloaded code, '
                . 'and this is the "' . PHP_SAPI . '" SAPI. Either set ffi.enable=On in ' . $ini . ' (PHP-FPM pool: '
                . 'php_admin_value[ffi.enable] = On), or preload crmchats: run `php ' . __DIR__ . '/preload.php '
                . '--write-header`, then set ffi.preload=' . __DIR__ . '/lib/crmchats.preload.h, opcache.enable=1, '
                . 'opcache.preload=' . __DIR__ . '/preload.php and opcache.preload_user=<the PHP-FPM user>; '
                . 'then restart PHP-FPM (see ' . __DIR__ . '/README.md).';
        }
        return 'FFI API is disabled (ffi.enable=' . ($setting === '' ? 'Off' : $setting) . '). Set ffi.enable=On in '
            . $ini . ' (PHP-FPM pool: php_admin_value[ffi.enable] = On) and restart PHP-FPM, '
            . 'or use the preload setup described in ' . __DIR__ . '/README.md.';
    }
}
