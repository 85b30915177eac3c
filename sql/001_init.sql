-- crmchats schema, version 1. `{prefix}` is the configured table prefix (default app_).
-- Every row carries the tenant `identity`, like the host CRM's own tables.

CREATE TABLE IF NOT EXISTS `{prefix}crmchats_channels` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `type` VARCHAR(32) NOT NULL,
  `name` VARCHAR(255) NOT NULL,
  `external_id` VARCHAR(191) NULL,
  `bot_name` VARCHAR(255) NULL,
  `token` TEXT NOT NULL,
  `settings` LONGTEXT NOT NULL,
  `webhook_secret` VARCHAR(256) NOT NULL,
  `webhook_state` VARCHAR(16) NOT NULL DEFAULT 'none',
  `webhook_error` TEXT NULL,
  `active` TINYINT(1) NOT NULL DEFAULT 1,
  `created_at` DATETIME(3) NOT NULL,
  `updated_at` DATETIME(3) NOT NULL,
  `deleted_at` DATETIME(3) NULL,
  PRIMARY KEY (`id`),
  KEY `identity_active` (`identity`, `active`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per person per channel: the same Telegram user id on two bots is two visitors, and a
-- Viber id can never collide with a Telegram one.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_visitors` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `channel_id` BIGINT NOT NULL,
  `external_id` VARCHAR(191) NOT NULL,
  `name` VARCHAR(255) NOT NULL DEFAULT '',
  `first_name` VARCHAR(255) NULL,
  `last_name` VARCHAR(255) NULL,
  `username` VARCHAR(255) NULL,
  `phone` VARCHAR(64) NULL,
  `language` VARCHAR(16) NULL,
  `avatar_attachment_id` BIGINT NULL,
  `blocked` TINYINT(1) NOT NULL DEFAULT 0,
  `profile_checked_at` DATETIME(3) NULL,
  `client_id` BIGINT NULL,
  `contact_id` BIGINT NULL,
  `created_at` DATETIME(3) NOT NULL,
  `updated_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `channel_external` (`channel_id`, `external_id`),
  KEY `identity_name` (`identity`, `name`(64))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `open_visitor_id` equals `visitor_id` while the dialog is open and is NULL once closed: the
-- unique key makes "one open dialog per visitor" a database rule, safe under concurrent webhooks.
-- `inbound_count` counts the visitor's messages; an operator's unread = inbound_count - read_count.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_dialogs` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `channel_id` BIGINT NOT NULL,
  `visitor_id` BIGINT NOT NULL,
  `status` VARCHAR(16) NOT NULL DEFAULT 'open',
  `open_visitor_id` BIGINT NULL,
  `source` VARCHAR(255) NULL,
  `inbound_count` BIGINT NOT NULL DEFAULT 0,
  `last_message_text` VARCHAR(255) NOT NULL DEFAULT '',
  `last_message_direction` VARCHAR(3) NULL,
  `last_activity_at` DATETIME(3) NOT NULL,
  `created_at` DATETIME(3) NOT NULL,
  `closed_at` DATETIME(3) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `one_open_per_visitor` (`open_visitor_id`),
  KEY `list_by_status` (`identity`, `status`, `last_activity_at`, `id`),
  KEY `list_all` (`identity`, `last_activity_at`, `id`),
  KEY `list_by_channel` (`identity`, `channel_id`, `last_activity_at`, `id`),
  KEY `visitor` (`visitor_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}crmchats_dialog_operators` (
  `dialog_id` BIGINT NOT NULL,
  `operator_id` BIGINT NOT NULL,
  `role` VARCHAR(16) NOT NULL DEFAULT 'member',
  `joined_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`dialog_id`, `operator_id`),
  KEY `operator` (`operator_id`, `dialog_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}crmchats_dialog_reads` (
  `dialog_id` BIGINT NOT NULL,
  `operator_id` BIGINT NOT NULL,
  `read_count` BIGINT NOT NULL DEFAULT 0,
  `read_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`dialog_id`, `operator_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- `external_id` is the provider's message id, unique per channel: a redelivered webhook cannot
-- store the same message twice.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_messages` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `channel_id` BIGINT NOT NULL,
  `dialog_id` BIGINT NOT NULL,
  `direction` VARCHAR(3) NOT NULL,
  `author_type` VARCHAR(16) NOT NULL,
  `author_operator_id` BIGINT NULL,
  `text` MEDIUMTEXT NOT NULL,
  `external_id` VARCHAR(191) NULL,
  `status` VARCHAR(16) NOT NULL,
  `error_code` VARCHAR(64) NULL,
  `error_message` TEXT NULL,
  `retry_after` INT NULL,
  `created_at` DATETIME(3) NOT NULL,
  `edited_at` DATETIME(3) NULL,
  `deleted_at` DATETIME(3) NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `channel_external` (`channel_id`, `external_id`),
  KEY `dialog` (`dialog_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Files live in storage_dir under their sha256; `file_ref` is the provider's handle, kept so a
-- failed download can be tried again.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_attachments` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `message_id` BIGINT NULL,
  `name` VARCHAR(255) NOT NULL,
  `mime` VARCHAR(127) NOT NULL,
  `size` BIGINT NOT NULL DEFAULT 0,
  `sha256` CHAR(64) NULL,
  `file_ref` VARCHAR(255) NULL,
  `error_code` VARCHAR(64) NULL,
  `error_message` TEXT NULL,
  `created_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `message` (`message_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Who did what, for the dialog's history (edits keep the previous text here).
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_events` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `dialog_id` BIGINT NULL,
  `message_id` BIGINT NULL,
  `operator_id` BIGINT NULL,
  `kind` VARCHAR(32) NOT NULL,
  `data` LONGTEXT NULL,
  `created_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `dialog` (`dialog_id`, `id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Webhook deliveries already processed (Telegram update_id...), per channel.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_deliveries` (
  `channel_id` BIGINT NOT NULL,
  `delivery_key` VARCHAR(191) NOT NULL,
  `received_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`channel_id`, `delivery_key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
