-- Three Telegram channels of the list_dialogs bench, as channels.create leaves them (webhook registered).
-- Runs after the library's migrations; the seeded dialogs spread over these channels.
INSERT INTO `app_crmchats_channels` (`id`, `identity`, `type`, `name`, `external_id`, `bot_name`, `token`, `settings`,
  `webhook_secret`, `webhook_state`, `webhook_error`, `active`, `created_at`, `updated_at`, `deleted_at`) VALUES
  (1, 1, 'telegram', 'Поддержка', '7311862940', 'Северный ветер — поддержка', '7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE',
   '{}', 'benchSecret_7Qw2-Lx9Vt4', 'registered', NULL, 1, UTC_TIMESTAMP(3) - INTERVAL 400 DAY, UTC_TIMESTAMP(3) - INTERVAL 400 DAY, NULL),
  (2, 1, 'telegram', 'Продажи', '7311862941', 'Северный ветер — продажи', '7311862941:AAFq2Wm8Lp0Zx7Vb3Nc5Kd9Rt1Yh4Gj6Se',
   '{}', 'benchSecret_2Hs8-Pq4Mn1', 'registered', NULL, 1, UTC_TIMESTAMP(3) - INTERVAL 380 DAY, UTC_TIMESTAMP(3) - INTERVAL 380 DAY, NULL),
  (3, 1, 'telegram', 'Сервисный центр', '7311862942', 'Северный ветер — сервис', '7311862942:AAGt5Rk2Hx9Lm4Qw7Zp1Vc8Nb3Df6Js0Ye',
   '{"proxy":"socks5://tg:pr0xy-pass@10.20.0.5:1080"}', 'benchSecret_9Kd3-Wr6Ty2', 'registered', NULL, 1,
   UTC_TIMESTAMP(3) - INTERVAL 200 DAY, UTC_TIMESTAMP(3) - INTERVAL 200 DAY, NULL);
