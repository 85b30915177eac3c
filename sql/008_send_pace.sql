-- crmchats schema, version 8: how fast each channel may send, shared by every process that
-- sends. One row per channel (`scope` = '') and per chat with a visitor (`scope` = 'chat:<id>'):
-- `tat_ms` is the theoretical arrival time of the next send (GCRA, in Unix milliseconds), so a
-- send is allowed when it is not too far ahead of now. A messenger's "slow down" (429) or an
-- outage sets the channel's `paused_until_ms`: its sends wait in the outbox until then.
CREATE TABLE IF NOT EXISTS `{prefix}crmchats_send_pace` (
  `identity` INT NOT NULL DEFAULT 1,
  `channel_id` BIGINT NOT NULL,
  `scope` VARCHAR(191) NOT NULL,
  `tat_ms` BIGINT NOT NULL,
  `paused_until_ms` BIGINT NOT NULL DEFAULT 0,
  `paused_at_ms` BIGINT NOT NULL DEFAULT 0,
  `paused_reason` VARCHAR(500) NULL,
  PRIMARY KEY (`identity`, `channel_id`, `scope`),
  KEY `stale` (`identity`, `tat_ms`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Operators' fresh replies go before retries and automatic messages. A messenger's confirmation
-- of a send still in flight (Facebook's echo metadata, WhatsApp's callback data) is kept until the
-- send's own outcome is known: a lost answer then counts as sent.
ALTER TABLE `{prefix}crmchats_outbox`
  ADD KEY `priority_due` (`identity`, `state`, `priority`, `next_attempt_at`),
  ADD COLUMN `confirmed_external_id` VARCHAR(191) NULL;
