-- Two operators for tests and the demo: an admin and a manager.
INSERT IGNORE INTO `app_user` (`iduser`, `login`, `title`, `isadmin`, `identity`) VALUES
  (1, 'admin', 'Анна Админова', 'on', 1),
  (2, 'manager', 'Пётр Менеджеров', 'off', 1);
INSERT IGNORE INTO `app_settings` (`id`, `company`, `api_key`, `timezone`, `identity`) VALUES
  (1, 'Северный ветер', 'demo-api-key', 'Europe/Moscow', 1);
