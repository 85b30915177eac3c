-- crmchats schema, version 2: what an admin needs to see that a channel still works.
-- `last_error` is the messenger's own words for the last failed send or registration.

ALTER TABLE `{prefix}crmchats_channels`
  ADD COLUMN `last_inbound_at` DATETIME(3) NULL,
  ADD COLUMN `last_outbound_at` DATETIME(3) NULL,
  ADD COLUMN `last_error` TEXT NULL,
  ADD COLUMN `last_error_at` DATETIME(3) NULL;

-- Outgoing messages are found by the messenger's id for delivery/read receipts (the unique key
-- channel_external serves that); watermark receipts walk a visitor's dialogs by time.
ALTER TABLE `{prefix}crmchats_messages`
  ADD KEY `dialog_direction_time` (`dialog_id`, `direction`, `created_at`);
