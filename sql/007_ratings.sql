-- crmchats schema, version 7 (with the indexes reports read by time): the visitor's rating of a closed dialog (1-5), asked once per
-- closing; `rating_requested_at` bounds the time in which a lone digit counts as the answer.
ALTER TABLE `{prefix}crmchats_dialogs`
  ADD COLUMN `rating` TINYINT NULL,
  ADD COLUMN `rated_at` DATETIME(3) NULL,
  ADD COLUMN `rating_requested_at` DATETIME(3) NULL,
  ADD KEY `created` (`identity`, `created_at`);

-- Reports count messages by time.
ALTER TABLE `{prefix}crmchats_messages`
  ADD KEY `created` (`identity`, `created_at`);
