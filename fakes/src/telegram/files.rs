//! File identities and the little file-type knowledge the fake needs: Telegram-looking ids,
//! MIME types from names, and image sizes for `PhotoSize`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::http::random_u64;

/// What kind of file an id is for; Telegram's ids start differently per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileKind {
    Photo,
    Document,
}

impl FileKind {
    fn id_prefix(self) -> &'static str {
        match self {
            FileKind::Photo => "AgACAgIAAxkDAAI",
            FileKind::Document => "BQACAgIAAxkDAAI",
        }
    }

    pub(super) fn directory(self) -> &'static str {
        match self {
            FileKind::Photo => "photos",
            FileKind::Document => "documents",
        }
    }
}

/// A fresh `(file_id, file_unique_id)` pair that looks like Telegram's.
pub(super) fn new_file_ids(kind: FileKind, number: u64) -> (String, String) {
    // Random bytes around the counter: unique per fake, and no long runs of `A`s.
    let mut raw = random_u64().to_be_bytes().to_vec();
    raw.extend_from_slice(&(number as u32).to_be_bytes());
    raw.extend_from_slice(&random_u64().to_be_bytes()[..6]);
    let file_id = format!("{}{}", kind.id_prefix(), URL_SAFE_NO_PAD.encode(&raw));
    (file_id.clone(), unique_id_for(&file_id))
}

/// A stable `file_unique_id` for a `file_id` (Telegram's are short and start with `AQAD`).
pub(super) fn unique_id_for(file_id: &str) -> String {
    let hash = stable_hash(file_id.as_bytes());
    format!("AQAD{}", URL_SAFE_NO_PAD.encode(hash.to_be_bytes()))
}

/// FNV-1a: the same value in every run, unlike the standard library's hasher.
pub(super) fn stable_hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The MIME type Telegram would report for a file name, if it is a common one.
pub(super) fn mime_from_name(name: &str) -> Option<&'static str> {
    let extension = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "mp3" => "audio/mpeg",
        "ogg" | "oga" => "audio/ogg",
        "mp4" => "video/mp4",
        _ => return None,
    })
}

/// A file extension for a MIME type (for `file_path`s of uploads without a usable name).
pub(super) fn extension_for_mime(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// The extension of `name` when it has a short, plain one.
pub(super) fn extension_of(name: &str) -> Option<String> {
    let extension = name.rsplit_once('.')?.1;
    (!extension.is_empty()
        && extension.len() <= 8
        && extension.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then(|| extension.to_ascii_lowercase())
}

/// The MIME type of image bytes, from their magic number.
pub(super) fn sniff_image_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Width and height of a PNG, GIF or JPEG image; `None` for anything else.
pub(super) fn image_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    match sniff_image_mime(bytes)? {
        "image/png" => {
            let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
            let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
            Some((width, height))
        }
        "image/gif" => {
            let width = u16::from_le_bytes(bytes.get(6..8)?.try_into().ok()?);
            let height = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?);
            Some((u32::from(width), u32::from(height)))
        }
        "image/jpeg" => {
            // Walk the segments up to a start-of-frame marker, which holds the size.
            let mut at = 2;
            loop {
                while *bytes.get(at)? != 0xff {
                    at += 1;
                }
                while *bytes.get(at)? == 0xff {
                    at += 1;
                }
                let marker = *bytes.get(at)?;
                at += 1;
                if matches!(marker, 0xd8 | 0x01 | 0xd0..=0xd7) {
                    continue; // markers without a length
                }
                let length = be16(at)? as usize;
                let is_frame =
                    matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
                if is_frame {
                    return Some((be16(at + 5)?, be16(at + 3)?));
                }
                at += length;
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sizes_are_read_from_png_gif_and_jpeg_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480)));

        let gif = b"GIF89a\x20\x03\x58\x02";
        assert_eq!(image_size(gif), Some((800, 600)));

        // SOI, APP0 (length 4), SOF0: length 17, precision 8, height 0x01E0, width 0x0280.
        let jpeg = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01,
            0xe0, 0x02, 0x80, 0x03,
        ];
        assert_eq!(image_size(&jpeg), Some((640, 480)));
        assert_eq!(image_size(b"not an image"), None);
    }

    #[test]
    fn file_ids_look_like_telegram_ids_and_unique_ids_are_stable() {
        let (photo, unique) = new_file_ids(FileKind::Photo, 7);
        assert!(photo.starts_with("AgAC"));
        assert_eq!(unique, unique_id_for(&photo));
        let (document, _) = new_file_ids(FileKind::Document, 7);
        assert!(document.starts_with("BQAC"));
        assert_ne!(photo, document);
    }
}
