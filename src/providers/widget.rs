//! The site chat widget: a channel of our own, with no messenger behind it. Visitors write
//! through the library (`widget.send`, see `crate::widget`), and what operators "send" is simply
//! stored: the widget reads it back (`widget.messages`). So every call here is local and cheap.

use std::io::Write;

use serde_json::Map;

use super::ensure_fits;
use super::{
    Capabilities, DownloadedFile, FieldKind, OutgoingFile, ParsedWebhook, Provider,
    ProviderContext, ProviderError, SendLimits, SettingField, UserInfo, WebhookError,
    WebhookHealth, WebhookRequest,
};
use crate::model::{AccountInfo, ChannelType, InboundFile, SentMessage};

pub struct Widget;

/// What a visitor may upload through the widget.
pub(crate) const MAX_UPLOAD: u64 = 25 * 1024 * 1024;

impl Provider for Widget {
    fn kind(&self) -> ChannelType {
        ChannelType::Widget
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            file_kinds: &["image", "document", "audio", "video"],
            max_download_bytes: MAX_UPLOAD,
            max_upload_bytes: MAX_UPLOAD,
            max_photo_upload_bytes: MAX_UPLOAD,
            max_text_chars: 10_000,
            can_delete: true,
            read_receipts: false,
            reply_window_hours: None,
            // Our own site chat: nothing to pace.
            send_limits: SendLimits::UNDOCUMENTED,
            idempotent_sends: false,
        }
    }

    fn default_api_base(&self) -> &'static str {
        "http://localhost"
    }

    fn settings_schema(&self) -> Vec<SettingField> {
        vec![
            SettingField::new(
                "allowed_origins",
                "Sites allowed to embed the widget",
                "Сайты, где можно разместить виджет",
                FieldKind::Text,
                false,
                "Comma-separated origins, e.g. https://shop.example.com; empty: any site.",
            ),
            SettingField::new(
                "title",
                "Widget title",
                "Заголовок виджета",
                FieldKind::Text,
                false,
                "Shown at the top of the chat window.",
            ),
        ]
    }

    fn check(&self, _ctx: &ProviderContext) -> Result<AccountInfo, ProviderError> {
        Ok(AccountInfo {
            bot_id: "site".into(),
            bot_name: "Site chat".into(),
            ..AccountInfo::default()
        })
    }

    fn set_webhook(
        &self,
        _ctx: &ProviderContext,
        _url: &str,
    ) -> Result<Map<String, serde_json::Value>, ProviderError> {
        Ok(Map::new()) // nothing calls us back: the widget talks to the library directly
    }

    fn delete_webhook(&self, _ctx: &ProviderContext) -> Result<(), ProviderError> {
        Ok(())
    }

    fn health(&self, _ctx: &ProviderContext) -> Result<WebhookHealth, ProviderError> {
        Ok(WebhookHealth {
            registered: Some(true),
            note: Some("the widget needs no webhook: it talks to widget.php".into()),
            ..WebhookHealth::default()
        })
    }

    fn verify(
        &self,
        _ctx: &ProviderContext,
        _request: &WebhookRequest,
    ) -> Result<(), WebhookError> {
        Err(WebhookError::Malformed(
            "a widget channel takes no webhooks: the widget posts to widget.php".into(),
        ))
    }

    fn parse(
        &self,
        _ctx: &ProviderContext,
        _request: &WebhookRequest,
    ) -> Result<ParsedWebhook, WebhookError> {
        Err(WebhookError::Malformed(
            "a widget channel takes no webhooks".into(),
        ))
    }

    fn send_text(
        &self,
        ctx: &ProviderContext,
        _to: &str,
        _text: &str,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        Ok(SentMessage {
            external_id: format!("w{}:{idempotency_key}", ctx.channel_id),
        })
    }

    fn send_file(
        &self,
        ctx: &ProviderContext,
        _to: &str,
        file: &OutgoingFile,
        _caption: Option<&str>,
        idempotency_key: &str,
    ) -> Result<SentMessage, ProviderError> {
        ensure_fits(file, MAX_UPLOAD)?;
        Ok(SentMessage {
            external_id: format!("w{}:{idempotency_key}", ctx.channel_id),
        })
    }

    fn delete_message(
        &self,
        _ctx: &ProviderContext,
        _to: &str,
        _external_id: &str,
    ) -> Result<(), ProviderError> {
        Ok(()) // the widget stops showing it once it is marked deleted
    }

    fn download(
        &self,
        _ctx: &ProviderContext,
        _file: &InboundFile,
        _sink: &mut dyn Write,
    ) -> Result<DownloadedFile, ProviderError> {
        Err(ProviderError::Unsupported(
            "widget files are stored when the visitor uploads them".into(),
        ))
    }

    fn user_info(
        &self,
        _ctx: &ProviderContext,
        _visitor_external_id: &str,
    ) -> Result<UserInfo, ProviderError> {
        Ok(UserInfo::default())
    }
}
