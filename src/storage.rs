//! Attachment files on disk, content-addressed: a file lives at `<storage_dir>/ab/cd/<sha256>`,
//! so the same picture sent twice is stored once and a retried download cannot duplicate it.
//! Files are streamed through a temporary file, never held whole in memory.

use std::fs::{self, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub struct FileStorage {
    root: PathBuf,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoredFile {
    pub sha256: String,
    pub size: u64,
}

/// Counts and hashes what is written through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl FileStorage {
    pub fn new(root: &Path) -> io::Result<Self> {
        create_private_dir(&root.join("tmp"))?;
        Ok(FileStorage {
            root: root.to_path_buf(),
        })
    }

    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| {
            self.root
                .join(&sha256[..2])
                .join(&sha256[2..4])
                .join(sha256)
        })
    }

    /// Runs `fill` with a writer; when it succeeds, the bytes become a stored file.
    pub fn save_with<T, E: From<io::Error>>(
        &self,
        fill: impl FnOnce(&mut dyn Write) -> Result<T, E>,
    ) -> Result<(StoredFile, T), E> {
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{}-{}", std::process::id(), unique_suffix()));
        // Visitors' files are readable by the web server's user only.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&tmp)?;
        let mut writer = HashingWriter {
            inner: BufWriter::new(file),
            hasher: Sha256::new(),
            size: 0,
        };
        let outcome = fill(&mut writer).and_then(|t| {
            writer.flush()?;
            Ok(t)
        });
        let value = match outcome {
            Ok(v) => v,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let sha256 = hex(&writer.hasher.finalize());
        let stored = StoredFile {
            sha256,
            size: writer.size,
        };
        let dest = self.path_of(&stored.sha256).expect("a sha256 hex digest");
        if let Some(dir) = dest.parent() {
            create_private_dir(dir)?;
        }
        if dest.exists() {
            fs::remove_file(&tmp)?;
        } else {
            fs::rename(&tmp, &dest)?;
        }
        Ok((stored, value))
    }

    pub fn save_reader(&self, reader: &mut dyn Read) -> io::Result<StoredFile> {
        self.save_with(|w| io::copy(reader, w).map(|_| ()))
            .map(|(s, _)| s)
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}

fn unique_suffix() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random URL-safe secret of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random generator");
    hex(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_are_stored_once_under_their_sha256() {
        let dir = std::env::temp_dir().join(format!("crmchats-storage-{}", random_token(4)));
        let storage = FileStorage::new(&dir).unwrap();
        let a = storage.save_reader(&mut &b"hello"[..]).unwrap();
        let b = storage.save_reader(&mut &b"hello"[..]).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(
            fs::read(storage.path_of(&a.sha256).unwrap()).unwrap(),
            b"hello"
        );
        assert_eq!(
            fs::read_dir(dir.join("tmp")).unwrap().count(),
            0,
            "temporary files are cleaned up"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn failed_fill_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("crmchats-storage-{}", random_token(4)));
        let storage = FileStorage::new(&dir).unwrap();
        let r: Result<(StoredFile, ()), io::Error> = storage.save_with(|w| {
            w.write_all(b"partial")?;
            Err(io::Error::other("provider went away"))
        });
        assert!(r.is_err());
        assert_eq!(fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
        fs::remove_dir_all(dir).unwrap();
    }
}
