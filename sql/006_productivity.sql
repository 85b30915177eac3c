-- crmchats schema, version 6: canned replies, dialog tags, full-text search over messages.

-- A reply template: shared (owner_id NULL, managed by admins) or an operator's own; `code` is what
-- follows `/` in the composer. `owner_key` makes the code unique per owner (0 = shared).
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_replies` (
  `id` BIGINT NOT NULL AUTO_INCREMENT,
  `identity` INT NOT NULL DEFAULT 1,
  `owner_id` BIGINT NULL,
  `owner_key` BIGINT NOT NULL DEFAULT 0,
  `code` VARCHAR(64) NOT NULL,
  `title` VARCHAR(255) NOT NULL DEFAULT '',
  `text` TEXT NOT NULL,
  `created_at` DATETIME(3) NOT NULL,
  `updated_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `owner_code` (`identity`, `owner_key`, `code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS `{prefix}crmchats_dialog_tags` (
  `dialog_id` BIGINT NOT NULL,
  `tag` VARCHAR(64) NOT NULL,
  `identity` INT NOT NULL DEFAULT 1,
  `created_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`dialog_id`, `tag`),
  KEY `tag` (`identity`, `tag`, `dialog_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE `{prefix}crmchats_messages` ADD FULLTEXT KEY `text_search` (`text`);
