-- crmchats schema, version 4: the outbox. Every reply (an operator's or automatic) gets a row in
-- the transaction that stores the message; the row says where its sending stands:
--   pending    waiting for its turn (after a temporary failure, or behind an earlier message of
--              the same dialog), due at `next_attempt_at`;
--   in_flight  a process is calling the messenger now (claimed with a conditional UPDATE);
--   unknown    a process died during the call: it may or may not have reached the visitor, so it
--              is never resent by itself — the operator checks and resends.
-- Rows of sent and permanently failed messages are deleted.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_outbox` (
  `message_id` BIGINT NOT NULL,
  `identity` INT NOT NULL DEFAULT 1,
  `channel_id` BIGINT NOT NULL,
  `dialog_id` BIGINT NOT NULL,
  `state` VARCHAR(16) NOT NULL,
  `priority` TINYINT NOT NULL DEFAULT 0,
  `attempts` INT NOT NULL DEFAULT 0,
  `next_attempt_at` DATETIME(3) NOT NULL,
  `claimed_at` DATETIME(3) NULL,
  `last_error` TEXT NULL,
  `created_at` DATETIME(3) NOT NULL,
  PRIMARY KEY (`message_id`),
  KEY `due` (`identity`, `state`, `next_attempt_at`),
  KEY `dialog` (`dialog_id`, `message_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
