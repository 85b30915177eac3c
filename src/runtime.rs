//! What lives for a process after `init`: configuration, database pool, file storage, HTTP agents.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mysql::PooledConn;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::HttpAgents;

use crate::model::{Channel, ChannelId, VisitorId};
use crate::providers::{provider_for, Provider, ProviderContext};
use crate::settings::Settings;
use crate::storage::FileStorage;
use crate::store::{Db, Store, StoreResult};
use crate::time::Timestamp;

pub struct Runtime {
    pub config: Config,
    pub store: Store,
    pub files: FileStorage,
    pub http: HttpAgents,
    /// When this process last looked at each visitor's profile state (bounded, see below).
    profile_checks: Mutex<HashMap<VisitorId, Instant>>,
    /// Channels as webhooks last read them, for a few seconds (see CHANNEL_CACHE_TTL).
    channels: Mutex<HashMap<ChannelId, (Instant, Channel)>>,
    /// When this process last wrote each channel's `last_inbound_at`.
    inbound_marks: Mutex<HashMap<ChannelId, Instant>>,
    /// The team's settings as last read, for what runs on every webhook (the comet check).
    settings: Mutex<Option<(Instant, Settings)>>,
}

/// How long a process serves webhooks from its copy of a channel. Another process's change (a
/// new secret, a deletion) is seen at most this late; this process's own changes at once.
const CHANNEL_CACHE_TTL: Duration = Duration::from_secs(5);

/// How long a media link given to a messenger works: long enough for its retries, short enough
/// that a leaked link soon stops working.
pub const MEDIA_LINK_TTL: Duration = Duration::from_secs(24 * 3600);

/// The signature of a media link: HMAC of the attachment and expiry under the channel's secret.
pub fn media_signature(channel: &Channel, attachment_id: i64, expires: i64) -> String {
    crate::providers::hmac_sha256_hex(
        channel.webhook_secret.as_bytes(),
        format!("media:{}:{attachment_id}:{expires}", channel.id).as_bytes(),
    )
}

const INBOUND_MARK_INTERVAL: Duration = Duration::from_secs(60);

/// How often one process looks at a visitor's profile state in the database.
const PROFILE_CHECK_INTERVAL: Duration = Duration::from_secs(600);
const PROFILE_CHECKS_KEPT: usize = 10_000;

impl Runtime {
    pub fn open(config: Config) -> Result<Runtime> {
        crate::logging::configure(config.log_file.as_deref(), config.log_level.as_deref())
            .map_err(|e| Error::invalid("log_file", e))?;
        let files = FileStorage::new(&config.storage_dir).map_err(|e| {
            Error::invalid(
                "storage_dir",
                format!("{}: {e}", config.storage_dir.display()),
            )
        })?;
        let http = HttpAgents::new(
            Duration::from_secs(config.http_timeout_secs),
            config.http_proxy.clone(),
        )?;
        let store = Store::open(&config)?;
        Ok(Runtime {
            config,
            store,
            files,
            http,
            profile_checks: Mutex::new(HashMap::new()),
            channels: Mutex::new(HashMap::new()),
            inbound_marks: Mutex::new(HashMap::new()),
            settings: Mutex::new(None),
        })
    }

    pub fn provider(&self, channel: &Channel) -> Result<&'static dyn Provider> {
        provider_for(channel.kind).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "channel type `{}` is not supported by this build yet",
                channel.kind.as_str()
            ))
        })
    }

    /// Calls `f` with the channel's provider and a context carrying its credentials and agent.
    pub fn with_provider<T>(
        &self,
        channel: &Channel,
        f: impl FnOnce(&'static dyn Provider, &ProviderContext) -> T,
    ) -> Result<T> {
        let provider = self.provider(channel)?;
        let agent = self.http.agent(channel.proxy())?;
        let api_base = self
            .config
            .api_base(channel.kind.as_str())
            .unwrap_or(provider.default_api_base());
        let ctx = ProviderContext {
            channel_id: channel.id,
            account_id: channel.external_id.as_deref(),
            account_name: channel.bot_name.as_deref(),
            token: &channel.token,
            settings: &channel.settings,
            webhook_secret: &channel.webhook_secret,
            api_base,
            agent: &agent,
        };
        Ok(f(provider, &ctx))
    }

    /// The channel a webhook is for, from this process's short-lived copy when fresh.
    pub fn webhook_channel(&self, db: &mut Db<PooledConn>, id: ChannelId) -> StoreResult<Channel> {
        let now = Instant::now();
        {
            let cache = self.channels.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, channel)) = cache.get(&id) {
                if now.duration_since(*at) < CHANNEL_CACHE_TTL {
                    return Ok(channel.clone());
                }
            }
        }
        let channel = db.channel(id)?;
        let mut cache = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= 1024 {
            cache.clear();
        }
        cache.insert(id, (now, channel.clone()));
        Ok(channel)
    }

    /// Drops this process's copy after the channel changed.
    pub fn forget_channel(&self, id: ChannelId) {
        self.channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// The team's settings, read at most every few seconds by this process.
    pub fn cached_settings(&self) -> Settings {
        let now = Instant::now();
        let mut cached = self.settings.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, settings)) = cached.as_ref() {
            if now.duration_since(*at) < CHANNEL_CACHE_TTL {
                return settings.clone();
            }
        }
        let settings = self
            .store
            .db()
            .ok()
            .and_then(|mut db| crate::team::settings(&mut db).ok())
            .unwrap_or_default();
        *cached = Some((now, settings.clone()));
        settings
    }

    /// Forgets the cached settings after this process changed them.
    pub fn forget_settings(&self) {
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Tells consoles subscribed on comet-server that these dialogs changed (when configured).
    pub fn announce(&self, dialog_ids: &[crate::model::DialogId]) {
        let settings = self.cached_settings();
        crate::comet::announce(
            &self.config.comet,
            &settings.comet,
            self.config.identity,
            dialog_ids,
        );
    }

    /// True (and noted) when this process has not written the channel's last inbound time for
    /// a minute: the health page needs minutes, not a write per webhook.
    pub fn inbound_mark_due(&self, channel_id: ChannelId) -> bool {
        let now = Instant::now();
        let mut marks = self.inbound_marks.lock().unwrap_or_else(|p| p.into_inner());
        if marks
            .get(&channel_id)
            .is_some_and(|at| now.duration_since(*at) < INBOUND_MARK_INTERVAL)
        {
            return false;
        }
        marks.insert(channel_id, now);
        true
    }

    /// True (and noted) when this process has not looked at the visitor's profile recently.
    pub fn profile_check_due(&self, visitor_id: VisitorId) -> bool {
        let now = Instant::now();
        let mut checks = self
            .profile_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if checks
            .get(&visitor_id)
            .is_some_and(|at| now.duration_since(*at) < PROFILE_CHECK_INTERVAL)
        {
            return false;
        }
        if checks.len() >= PROFILE_CHECKS_KEPT {
            checks.clear();
        }
        checks.insert(visitor_id, now);
        true
    }

    pub fn webhook_url(&self, channel_id: i64) -> String {
        format!(
            "{}/webhook.php?channel={channel_id}",
            self.config.public_base_url.trim_end_matches('/')
        )
    }

    /// A link to a stored file that a messenger can fetch (Viber downloads media by URL): signed
    /// with the channel's secret, valid for `MEDIA_LINK_TTL`. None without `public_base_url`.
    /// The path ends with `<id>.<extension>` (path info `media.php` ignores): Viber takes a
    /// picture only from a URL whose last path segment ends with `.jpeg`, `.png` or `.gif`, and
    /// a file only when it ends with an extension.
    pub fn public_media_url(
        &self,
        channel: &Channel,
        attachment_id: i64,
        name: &str,
        mime: &str,
    ) -> Option<String> {
        if self.config.public_base_url.is_empty() {
            return None;
        }
        let expires = Timestamp::now().millis() / 1000 + MEDIA_LINK_TTL.as_secs() as i64;
        Some(format!(
            "{}/media.php/{attachment_id}.{}?channel={}&id={attachment_id}&expires={expires}&signature={}",
            self.config.public_base_url.trim_end_matches('/'),
            media_extension(name, mime),
            channel.id,
            media_signature(channel, attachment_id, expires)
        ))
    }

    pub fn attachment_url(&self, attachment_id: i64) -> String {
        format!(
            "{}/attachment.php?id={attachment_id}",
            self.config.public_base_url.trim_end_matches('/')
        )
    }
}

/// The extension a media link ends with: the file name's own when it is a plain one, else one
/// for its type (`bin` when unknown).
fn media_extension(name: &str, mime: &str) -> String {
    let own = name.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| {
        (1..=8).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if let Some(ext) = own {
        return ext.to_ascii_lowercase();
    }
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        _ => "bin",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::media_extension;

    #[test]
    fn media_links_end_with_a_plain_extension() {
        assert_eq!(media_extension("Фото.JPG", "image/jpeg"), "jpg");
        assert_eq!(media_extension("file", "image/png"), "png");
        assert_eq!(media_extension("a.tar.gz", "application/gzip"), "gz");
        assert_eq!(media_extension("odd.ж", "application/x-odd"), "bin");
        assert_eq!(media_extension("x.<script>", "image/gif"), "gif");
    }
}
