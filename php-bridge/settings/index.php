<?php
/**
 * The settings live in the console (console/#settings, CRM admins only); this address, for a CRM menu
 * entry, leads there.
 */

declare(strict_types=1);

header('Location: ../console/#settings', true, 302);
