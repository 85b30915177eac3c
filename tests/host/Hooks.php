<?php
/**
 * A minimal stand-in for the CRM's hook object (SalesMan uses voku\helper\Hooks): actions and
 * filters by name, run in priority order, with every argument passed on (as voku's does).
 */

declare(strict_types=1);

final class SimHooks
{
    /** @var array<string, array<int, list<callable>>> */
    private array $actions = [];

    /** @var array<string, array<int, list<callable>>> */
    private array $filters = [];

    public function add_action(string $name, callable $callback, int $priority = 10): bool
    {
        $this->actions[$name][$priority][] = $callback;
        return true;
    }

    public function add_filter(string $name, callable $callback, int $priority = 10): bool
    {
        $this->filters[$name][$priority][] = $callback;
        return true;
    }

    public function has_action(string $name): bool
    {
        return !empty($this->actions[$name]);
    }

    public function do_action(string $name, mixed ...$args): void
    {
        foreach ($this->ordered($this->actions[$name] ?? []) as $callback) {
            $callback(...$args);
        }
    }

    public function apply_filters(string $name, mixed $value, mixed ...$args): mixed
    {
        foreach ($this->ordered($this->filters[$name] ?? []) as $callback) {
            $value = $callback($value, ...$args);
        }
        return $value;
    }

    /** @return list<callable> */
    private function ordered(array $byPriority): array
    {
        ksort($byPriority);
        return array_merge(...array_values($byPriority) ?: [[]]);
    }
}
