-- Bulk seed of the list_dialogs bench: dialogs {from}..{to} with one visitor each, their messages, the
-- operators taking part, operator reads and the dialog_opened event, all consistent with each other the
-- way ingest leaves them. Run once per range (10k, then 10001..100000); MariaDB's SEQUENCE engine
-- (seq_1_to_N) gives the rows. Values derive from the dialog number n through CRC32, so a run is
-- reproducible: activity spread over a year, ~10% of dialogs open (last 30 days, plus 2% never closed),
-- 2-4 messages each (the last one an operator's answer for every 4th dialog), ~1/3 with unread messages.
-- Expects @now (UTC_TIMESTAMP(3)) to be set by the caller; time_zone is +00:00 like the library's.

-- n -> derived values, kept in a scratch table so every insert below reads the same ones.
DROP TEMPORARY TABLE IF EXISTS bench_seed;
CREATE TEMPORARY TABLE bench_seed (
  n BIGINT NOT NULL PRIMARY KEY,
  ch BIGINT NOT NULL,
  ext VARCHAR(32) NOT NULL,
  k INT NOT NULL,
  out_last TINYINT NOT NULL,
  is_open TINYINT NOT NULL,
  dur_s INT NOT NULL,
  la DATETIME(3) NOT NULL,
  created DATETIME(3) NOT NULL
) ENGINE=InnoDB;

INSERT INTO bench_seed (n, ch, ext, k, out_last, is_open, dur_s, la, created)
SELECT n, 1 + n % 3, CAST(5000000000 + n * 7919 AS CHAR), 2 + n % 3, n % 4 = 0,
  age_ms < 30 * 86400000 OR CRC32(CONCAT('open', n)) % 50 = 0,
  dur_s, @now - INTERVAL age_ms * 1000 MICROSECOND, @now - INTERVAL age_ms * 1000 MICROSECOND - INTERVAL dur_s SECOND
FROM (
  SELECT seq AS n,
    FLOOR(CRC32(CONCAT('age', seq)) / 4294967296 * 365 * 86400000) AS age_ms,
    600 + CRC32(CONCAT('dur', seq)) % (3 * 86400) AS dur_s
  FROM seq_{from}_to_{to}
) x;

INSERT INTO `app_crmchats_visitors` (`id`, `identity`, `channel_id`, `external_id`, `name`, `first_name`, `last_name`,
  `username`, `phone`, `language`, `avatar_attachment_id`, `blocked`, `profile_checked_at`, `client_id`, `contact_id`,
  `created_at`, `updated_at`)
SELECT n, 1, ch, ext, CONCAT_WS(' ', fn, ln), fn, ln, un, NULL, IF(f >= 10, 'en', 'ru'), NULL, n % 97 = 0, created,
  NULL, NULL, created, la
FROM (
  SELECT b.*,
    ELT(1 + f, 'Алексей', 'Мария', 'Дмитрий', 'Анна', 'Сергей', 'Ольга', 'Иван', 'Елена', 'Никита', 'Татьяна',
      'John', 'Emma') AS fn,
    IF(f >= 10,
      ELT(1 + (n DIV 12) % 9, 'Smith', 'Brown', 'Miller', 'Khan', 'García', 'Müller', 'Rossi', 'Novak'),
      IF(f % 2 = 0,
        ELT(1 + (n DIV 12) % 9, 'Смирнов', 'Кузнецов', 'Соколов', 'Новиков', 'Петров', 'Волков', 'Фёдоров', 'Морозов'),
        ELT(1 + (n DIV 12) % 9, 'Смирнова', 'Кузнецова', 'Соколова', 'Новикова', 'Петрова', 'Волкова', 'Фёдорова',
          'Морозова'))) AS ln,
    IF(n % 4 = 3, NULL, CONCAT(ELT(1 + f, 'alex', 'masha', 'dima', 'anya', 'serg', 'olga', 'vanya', 'lena', 'nik',
      'tanya', 'john', 'emma'), '_', n)) AS un
  FROM (SELECT bench_seed.*, n % 12 AS f FROM bench_seed) b
) v;

-- Message j of dialog n has id 4*(n-1)+j; the first k-1 come from the visitor, the last one too unless
-- an operator answered last. They are spread evenly from the dialog's start to its last activity.
INSERT INTO `app_crmchats_messages` (`id`, `identity`, `channel_id`, `dialog_id`, `direction`, `author_type`,
  `author_operator_id`, `text`, `external_id`, `status`, `error_code`, `error_message`, `retry_after`, `created_at`,
  `edited_at`, `deleted_at`)
SELECT 4 * (n - 1) + j, 1, ch, n, IF(is_out, 'out', 'in'), IF(is_out, 'operator', 'visitor'),
  IF(is_out, 1 + n % 2, NULL),
  IF(is_out,
    ELT(1 + (n + j) % 5, 'Добрый день! Заказ отправлен, трек-номер пришлю в течение часа.',
      'Счёт выставили, он у вас на почте.', 'Уточнил на складе: поступление в четверг.',
      'Спасибо за обращение! Если будут вопросы — пишите.', 'Передал менеджеру, он свяжется с вами сегодня.'),
    ELT(1 + (n * 7 + j) % 8, CONCAT('Здравствуйте! Подскажите, заказ №', 4000 + n % 997, ' уже отправлен? 📦'),
      'Добрый день, хочу уточнить стоимость доставки в Екатеринбург', 'Спасибо, всё получил 👍',
      CONCAT('Можно счёт на юрлицо? ИНН пришлю отдельно. Заявка ', 4000 + n % 997),
      CONCAT('Hi, is the order #', 4000 + n % 997, ' still in stock?'), 'Когда будет поступление? Жду уже неделю',
      'ок', CONCAT('Пришлите, пожалуйста, договор на почту, номер заявки ', 4000 + n % 997,
        '. Нам нужно до пятницы согласовать с бухгалтерией, иначе оплата уедет на следующий месяц.'))),
  CONCAT(ext, ':', j), IF(is_out, 'sent', 'received'), NULL, NULL, NULL,
  la - INTERVAL FLOOR((k - j) * dur_s / (k - 1)) SECOND, NULL, NULL
FROM (
  SELECT b.*, j.seq AS j, (j.seq = b.k AND b.out_last) AS is_out
  FROM bench_seed b JOIN seq_1_to_4 j ON j.seq <= b.k
) m;

-- {last_message_id_column}/{last_message_id_value}: filled by seed.php only while the schema has
-- dialogs.last_message_id (the column is on its way out).
INSERT INTO `app_crmchats_dialogs` (`id`, `identity`, `channel_id`, `visitor_id`, `status`, `open_visitor_id`, `source`,
  `inbound_count`, {last_message_id_column} `last_message_text`, `last_message_direction`, `last_activity_at`, `created_at`,
  `closed_at`)
SELECT b.n, 1, b.ch, b.n, IF(b.is_open, 'open', 'closed'), IF(b.is_open, b.n, NULL), IF(b.n % 10 = 0, 'site_header', NULL),
  b.k - b.out_last, {last_message_id_value} LEFT(m.text, 255), m.direction, b.la, b.created,
  IF(b.is_open, NULL, b.la + INTERVAL b.n % 120 MINUTE)
FROM bench_seed b JOIN `app_crmchats_messages` m ON m.id = 4 * (b.n - 1) + b.k;

-- 80% of dialogs have an owner (operator 1 or 2); every 7th of those also a second operator.
INSERT INTO `app_crmchats_dialog_operators` (`dialog_id`, `operator_id`, `role`, `joined_at`)
SELECT n, 1 + n % 2, 'owner', created + INTERVAL 2 MINUTE FROM bench_seed WHERE n % 5 <> 0;
INSERT INTO `app_crmchats_dialog_operators` (`dialog_id`, `operator_id`, `role`, `joined_at`)
SELECT n, 2 - n % 2, 'member', created + INTERVAL 1 HOUR FROM bench_seed WHERE n % 5 <> 0 AND n % 7 = 0;

-- Operator 1 (the admin) has opened 2/3 of the dialogs; open ones of those are sometimes one message
-- behind. Operator 2 has read the dialogs they own.
INSERT INTO `app_crmchats_dialog_reads` (`dialog_id`, `operator_id`, `read_count`, `read_at`)
SELECT n, 1, k - out_last - IF(is_open, n % 2, 0), la FROM bench_seed WHERE n % 3 <> 0;
INSERT INTO `app_crmchats_dialog_reads` (`dialog_id`, `operator_id`, `read_count`, `read_at`)
SELECT n, 2, k - out_last, la FROM bench_seed WHERE n % 5 <> 0 AND n % 2 = 1;

INSERT INTO `app_crmchats_events` (`identity`, `dialog_id`, `message_id`, `operator_id`, `kind`, `data`, `created_at`)
SELECT 1, n, 4 * (n - 1) + 1, NULL, 'dialog_opened', IF(n % 10 = 0, '{"source":"site_header"}', '{"source":null}'),
  created
FROM bench_seed;

DROP TEMPORARY TABLE bench_seed;
