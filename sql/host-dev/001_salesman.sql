-- SalesMan-shaped host CRM tables for development, tests and the demo (the real CRM has them).
-- Only the columns crmchats reads or writes, plus a few neighbours, with the CRM's types.

CREATE TABLE IF NOT EXISTS `app_user` (
  `iduser` INT NOT NULL AUTO_INCREMENT,
  `login` VARCHAR(250) NOT NULL DEFAULT '',
  `pwd` VARCHAR(250) NOT NULL DEFAULT '',
  `title` VARCHAR(250) NOT NULL DEFAULT '',
  `tip` VARCHAR(100) NOT NULL DEFAULT 'Менеджер продаж',
  `isadmin` VARCHAR(3) NOT NULL DEFAULT 'off',
  `avatar` VARCHAR(250) NOT NULL DEFAULT '',
  `email` VARCHAR(250) NOT NULL DEFAULT '',
  `secrty` VARCHAR(3) NOT NULL DEFAULT 'yes',
  `identity` INT NOT NULL DEFAULT 1,
  PRIMARY KEY (`iduser`),
  KEY `identity` (`identity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `app_clientcat` (
  `clid` INT NOT NULL AUTO_INCREMENT,
  `title` VARCHAR(250) NOT NULL DEFAULT '',
  `phone` VARCHAR(250) NOT NULL DEFAULT '',
  `mail_url` VARCHAR(250) NOT NULL DEFAULT '',
  `iduser` INT NOT NULL DEFAULT 0,
  `type` VARCHAR(100) NOT NULL DEFAULT 'client',
  `trash` VARCHAR(3) NOT NULL DEFAULT 'no',
  `date_create` DATETIME NULL,
  `des` TEXT NULL,
  `identity` INT NOT NULL DEFAULT 1,
  PRIMARY KEY (`clid`),
  KEY `identity` (`identity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `app_personcat` (
  `pid` INT NOT NULL AUTO_INCREMENT,
  `clid` INT NOT NULL DEFAULT 0,
  `person` VARCHAR(250) NOT NULL DEFAULT '',
  `tel` VARCHAR(250) NOT NULL DEFAULT '',
  `mob` VARCHAR(250) NOT NULL DEFAULT '',
  `mail` VARCHAR(250) NOT NULL DEFAULT '',
  `iduser` INT NOT NULL DEFAULT 0,
  `date_create` DATETIME NULL,
  `identity` INT NOT NULL DEFAULT 1,
  PRIMARY KEY (`pid`),
  KEY `identity` (`identity`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `app_settings` (
  `id` INT NOT NULL AUTO_INCREMENT,
  `company` VARCHAR(250) NOT NULL DEFAULT '',
  `api_key` VARCHAR(250) NOT NULL DEFAULT '',
  `timezone` VARCHAR(100) NOT NULL DEFAULT 'Europe/Moscow',
  `identity` INT NOT NULL DEFAULT 1,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
