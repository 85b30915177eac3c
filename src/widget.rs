//! The site chat widget's visitors: who they are (a signed token the widget keeps), what they
//! write (stored like a webhook's message, with the same team rules), what they read back.
//!
//! The token is `<visitor external id>.<HMAC>` keyed with the channel's secret: the widget can
//! prove it is that visitor and no other, and the library keeps no session table.

use crate::error::{Error, Result};
use crate::ingest::{self, STORED_FILE_PREFIX};
use crate::model::{
    AttachmentKind, Channel, ChannelType, InboundEvent, InboundFile, InboundMessage, VisitorProfile,
};
use crate::outbound::{self, AttachmentSource};
use crate::providers::{constant_time_eq, hmac_sha256_hex, widget::MAX_UPLOAD};
use crate::runtime::Runtime;
use crate::storage::random_token;
use crate::store::StoredInbound;
use crate::time::Timestamp;

/// A visitor's upload, as the widget sends it.
pub struct Upload {
    pub bytes: Vec<u8>,
    pub name: String,
    pub mime: String,
}

fn signature(channel: &Channel, external_id: &str) -> String {
    let mac = hmac_sha256_hex(
        channel.webhook_secret.as_bytes(),
        format!("widget:{}:{external_id}", channel.id).as_bytes(),
    );
    mac[..32].to_string()
}

/// A new visitor's token.
pub fn new_token(channel: &Channel) -> String {
    let external_id = format!("web-{}", random_token(12));
    let sig = signature(channel, &external_id);
    format!("{external_id}.{sig}")
}

/// The visitor's external id, when the token is this channel's.
pub fn verify_token(channel: &Channel, token: &str) -> Result<String> {
    let refused =
        || Error::Forbidden("the widget's visitor token is not valid for this channel".into());
    let (external_id, sig) = token.rsplit_once('.').ok_or_else(refused)?;
    if external_id.is_empty() || external_id.len() > 64 {
        return Err(refused());
    }
    if !constant_time_eq(signature(channel, external_id).as_bytes(), sig.as_bytes()) {
        return Err(refused());
    }
    Ok(external_id.to_string())
}

/// The widget channel, active.
pub fn channel(rt: &Runtime, channel_id: i64) -> Result<Channel> {
    let channel = rt.store.channel(channel_id)?;
    if channel.kind != ChannelType::Widget || !channel.active {
        return Err(Error::NotFound(format!(
            "no site widget channel {channel_id}"
        )));
    }
    Ok(channel)
}

/// Stores what the visitor wrote (text and files) as an inbound message.
pub fn send(
    rt: &Runtime,
    channel: &Channel,
    external_id: &str,
    name: Option<&str>,
    text: &str,
    uploads: Vec<Upload>,
) -> Result<StoredInbound> {
    if text.trim().is_empty() && uploads.is_empty() {
        return Err(Error::invalid("text", "a message needs text or a file"));
    }
    if text.chars().count() > 10_000 {
        return Err(Error::invalid("text", "at most 10000 characters"));
    }
    let mut files = Vec::with_capacity(uploads.len());
    for (i, u) in uploads.into_iter().enumerate() {
        let stored = outbound::save_file(
            rt,
            &format!("attachments[{i}]"),
            AttachmentSource::Bytes(u.bytes),
            MAX_UPLOAD,
        )?;
        files.push(InboundFile {
            file_ref: format!("{STORED_FILE_PREFIX}{}", stored.sha256),
            kind: AttachmentKind::for_mime(&u.mime),
            name: Some(u.name),
            mime: Some(u.mime),
            size: Some(stored.size),
        });
    }
    let message = InboundMessage {
        external_id: format!("web-{}", random_token(12)),
        visitor: VisitorProfile {
            external_id: external_id.to_string(),
            first_name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            ..VisitorProfile::default()
        },
        text: text.to_string(),
        files,
        sent_at: Timestamp::now(),
        start_payload: None,
    };
    ingest::store_direct(rt, channel, &[InboundEvent::Message(message)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelActivity, WebhookState};

    fn channel(id: i64, secret: &str) -> Channel {
        Channel {
            id,
            kind: ChannelType::Widget,
            name: "Site".into(),
            external_id: None,
            bot_name: None,
            token: String::new(),
            settings: Default::default(),
            webhook_secret: secret.into(),
            webhook_state: WebhookState::None,
            webhook_error: None,
            active: true,
            health: ChannelActivity::default(),
        }
    }

    #[test]
    fn a_token_works_only_on_its_channel_and_unchanged() {
        let site = channel(1, "secret-one");
        let token = new_token(&site);
        let visitor = verify_token(&site, &token).unwrap();
        assert!(visitor.starts_with("web-"));
        assert_eq!(
            verify_token(&channel(2, "secret-one"), &token)
                .unwrap_err()
                .code(),
            "forbidden"
        );
        assert_eq!(
            verify_token(&channel(1, "other"), &token)
                .unwrap_err()
                .code(),
            "forbidden"
        );
        let other_visitor = format!("web-someoneelse.{}", token.rsplit_once('.').unwrap().1);
        assert_eq!(
            verify_token(&site, &other_visitor).unwrap_err().code(),
            "forbidden"
        );
        assert_eq!(
            verify_token(&site, "garbage").unwrap_err().code(),
            "forbidden"
        );
    }
}
