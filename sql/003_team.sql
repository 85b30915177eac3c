-- crmchats schema, version 3: the team — settings, operators and their presence, assignment,
-- auto-replies once per dialog opening, the timed-work lock's bookkeeping.

-- One row of settings per tenant; the JSON is validated by the library before it is written.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_settings` (
  `identity` INT NOT NULL,
  `settings` LONGTEXT NOT NULL,
  `updated_at` DATETIME(3) NOT NULL,
  `updated_by` BIGINT NULL,
  -- When `tick` last ran for the tenant, so requests that run it opportunistically do so at
  -- most once a minute across all web servers.
  `last_tick_at` DATETIME(3) NULL,
  PRIMARY KEY (`identity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- CRM users who answer chats. `status` is what they chose; `last_seen_at` is the console's
-- heartbeat: online = status 'online' and seen within the presence timeout.
-- `last_assigned_at` orders round-robin.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_operators` (
  `identity` INT NOT NULL,
  `user_id` BIGINT NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'offline',
  `last_seen_at` DATETIME(3) NULL,
  `last_assigned_at` DATETIME(3) NULL,
  `added_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`identity`, `user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `assigned_operator_id` NULL on an open dialog = waiting in the queue.
-- `auto_replies` lists the automatic messages already sent since the dialog (re)opened.
ALTER TABLE `{prefix}crmchats_dialogs`
  ADD COLUMN `assigned_operator_id` BIGINT NULL,
  ADD COLUMN `assigned_at` DATETIME(3) NULL,
  ADD COLUMN `opened_at` DATETIME(3) NULL,
  ADD COLUMN `auto_replies` VARCHAR(255) NOT NULL DEFAULT '',
  ADD KEY `queue` (`identity`, `status`, `assigned_operator_id`, `last_activity_at`),
  ADD KEY `assigned` (`assigned_operator_id`, `status`);

ALTER TABLE `{prefix}crmchats_visitors`
  ADD KEY `client` (`client_id`),
  ADD KEY `contact` (`contact_id`);
