-- crmchats schema, version 5: what was imported from the original socialChats plugin, so that
-- running the import again adds nothing (source table + its row id -> our row id).
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_imports` (
  `identity` INT NOT NULL,
  `source` VARCHAR(32) NOT NULL,
  `source_id` VARCHAR(191) NOT NULL,
  `target_id` BIGINT NOT NULL,
  `imported_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`identity`, `source`, `source_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
