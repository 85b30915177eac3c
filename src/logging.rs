//! A small `log` backend writing to the configured file. Installed once per process; later
//! `init` calls may change the file and level.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use log::{LevelFilter, Log, Metadata, Record};
use once_cell::sync::Lazy;

use crate::time::Timestamp;

struct FileLogger {
    file: Mutex<Option<File>>,
}

static LOGGER: Lazy<FileLogger> = Lazy::new(|| FileLogger {
    file: Mutex::new(None),
});

impl Log for FileLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) || !record.target().starts_with("crmchats") {
            return;
        }
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = writeln!(
                    f,
                    "{} {} [{}] {}",
                    Timestamp::now().to_rfc3339(),
                    record.level(),
                    std::process::id(),
                    record.args()
                );
            }
        }
    }

    fn flush(&self) {
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let _ = f.flush();
            }
        }
    }
}

/// Points the logger at `path` (or nowhere) with `level` (`error`..`trace`, default `warn`).
pub fn configure(path: Option<&Path>, level: Option<&str>) -> std::io::Result<()> {
    let _ = log::set_logger(&*LOGGER);
    let filter = level
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::Warn);
    let file = match path {
        Some(p) => Some(OpenOptions::new().create(true).append(true).open(p)?),
        None => None,
    };
    log::set_max_level(if file.is_some() {
        filter
    } else {
        LevelFilter::Off
    });
    if let Ok(mut guard) = LOGGER.file.lock() {
        *guard = file;
    }
    Ok(())
}
