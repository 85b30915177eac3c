<?php
/**
 * The team's timed work and concurrency through PHP: tick.php from cron, the opportunistic
 * tick from ordinary requests, and parallel PHP processes delivering a new visitor's first
 * messages at the same moment.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class TeamTest extends TestCase
{
    public function testTickScriptRunsTheTimedWorkFromCron(): void
    {
        $process = proc_open(
            [PHP_BINARY, TestEnv::bridgeDir() . '/tick.php'],
            [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            TestEnv::childEnv(),
        );
        $this->assertIsResource($process);
        $stdout = stream_get_contents($pipes[1]);
        $stderr = stream_get_contents($pipes[2]);
        $exit = proc_close($process);
        $this->assertSame(0, $exit, $stderr);
        $result = json_decode((string)$stdout, true, 512, JSON_THROW_ON_ERROR);
        $this->assertArrayHasKey('ran', $result, (string)$stdout);
        if ($result['ran'] === true) {
            $this->assertArrayHasKey('closed', $result);
        } else {
            $this->assertSame('another process is running tick', $result['reason']);
        }
    }

    public function testOrdinaryRequestsTickAtMostOnceAMinute(): void
    {
        @unlink(Crmchats::tickStampPath());
        $first = TestEnv::lib()->tickIfDue();
        $this->assertIsArray($first, 'due: the library was asked');
        $this->assertArrayHasKey('ran', $first);
        $this->assertNull(TestEnv::lib()->tickIfDue(), 'asked again within the minute: not even the library is called');
        @unlink(Crmchats::tickStampPath());
        $third = TestEnv::lib()->tickIfDue();
        $this->assertIsArray($third);
        $this->assertFalse($third['ran'], 'the library refuses a second run within the minute across processes');
    }

    public function testTheSameWebhookRetriedByTwoProcessesAtOnceIsStoredOnce(): void
    {
        [$body, $headers] = TestEnv::freshTextUpdate('повтор');
        $update = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        $this->runWorkers(TestEnv::webhookRequest($headers), array_fill(0, 4, $update));
        $dialogs = TestEnv::dialogsOf($update['message']['from']['username']);
        $this->assertCount(1, $dialogs);
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1])['messages'];
        $this->assertCount(1, $messages, 'four simultaneous deliveries of one update: one message');
    }

    public function testParallelProcessesDeliveringANewVisitorsFirstMessagesMakeOneDialog(): void
    {
        [$body, $headers] = TestEnv::freshTextUpdate('первое');
        $update = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        $updates = [];
        for ($i = 0; $i < 4; $i++) {
            $u = $update;
            $u['update_id'] += $i + 1;
            $u['message']['message_id'] += $i + 1;
            $u['message']['text'] = "сообщение $i";
            $updates[] = $u;
        }
        $this->runWorkers(TestEnv::webhookRequest($headers), $updates);

        $dialogs = TestEnv::dialogsOf($update['message']['from']['username']);
        $this->assertCount(1, $dialogs, 'one visitor, one dialog');
        $messages = TestEnv::lib()->call('messages.list', ['dialog_id' => $dialogs[0]['id'], 'operator_id' => 1])['messages'];
        $this->assertCount(4, $messages);
    }

    /**
     * Runs one PHP process per update, all calling handleWebhook at the same moment; each must
     * answer 200.
     *
     * @param array<string, mixed> $request
     * @param list<array<string, mixed>> $updates
     */
    private function runWorkers(array $request, array $updates): void
    {
        $worker = <<<'PHP'
            <?php
            require getenv('CRMCHATS_BRIDGE') . '/Crmchats.php';
            $lib = new Crmchats(getenv('CRMCHATS_LIB'), getenv('CRMCHATS_HEADER'));
            $lib->init(json_decode(getenv('CRMCHATS_TEST_CONFIG'), true));
            $start = (float)getenv('CRMCHATS_START_AT');
            while (microtime(true) < $start) { usleep(500); }
            $r = $lib->handleWebhook(json_decode(getenv('CRMCHATS_REQUEST'), true), getenv('CRMCHATS_BODY'));
            echo $r['status'];
            PHP;
        $script = tempnam(sys_get_temp_dir(), 'crmchats-worker');
        file_put_contents($script, $worker);
        $startAt = microtime(true) + 1.0;
        $processes = [];
        foreach ($updates as $u) {
            $env = TestEnv::childEnv();
            $env['CRMCHATS_BRIDGE'] = TestEnv::bridgeDir();
            $env['CRMCHATS_TEST_CONFIG'] = json_encode(TestEnv::config(), JSON_THROW_ON_ERROR);
            $env['CRMCHATS_START_AT'] = (string)$startAt;
            $env['CRMCHATS_REQUEST'] = json_encode($request, JSON_THROW_ON_ERROR);
            $env['CRMCHATS_BODY'] = json_encode($u, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
            $p = proc_open([PHP_BINARY, '-d', 'ffi.enable=1', $script], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
            $this->assertIsResource($p);
            $processes[] = [$p, $pipes];
        }
        foreach ($processes as [$p, $pipes]) {
            $out = stream_get_contents($pipes[1]);
            $err = stream_get_contents($pipes[2]);
            $this->assertSame(0, proc_close($p), $err);
            $this->assertSame('200', $out, $err);
        }
        unlink($script);
    }
}
