//! The facade: one Rust function per operation, JSON in and out. It knows nothing of C; the FFI
//! layer converts and dispatches here, and tests call it directly.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use base64::Engine;
use once_cell::sync::Lazy;
use serde::Deserialize;
use serde_json::{json, Map, Value};

mod live_calls;
mod productivity_calls;
mod team_calls;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::validate_proxy;
use crate::ingest::{self, IncomingWebhook};
use crate::model::{
    mime_for_name, AccountInfo, Channel, ChannelActivity, ChannelType, DialogId, MessageStatus,
    OperatorId, WebhookState,
};
use crate::outbound::{self, AttachmentSource, Author, OutgoingAttachment, Reply};
use crate::providers::{constant_time_eq, provider_for, supported, FieldKind, Provider};
use crate::runtime::Runtime;
use crate::storage::random_token;
use crate::store::{
    AttachmentRow, ChannelRecord, DialogListQuery, DialogRow, DialogView, MessageRow,
};
use crate::team;
use crate::time::Timestamp;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// One initialised instance: a configuration with its database pool, storage and agents.
pub struct Crmchats {
    rt: Runtime,
}

// ---------------------------------------------------------------------------------------------
// The process-wide instance behind the C ABI.

struct Installed {
    config: Value,
    instance: Arc<Crmchats>,
}

static INSTANCE: Lazy<RwLock<Option<Installed>>> = Lazy::new(|| RwLock::new(None));

/// Forgets the process's instance: the next `init` opens (and migrates) afresh.
fn forget_instance() {
    *INSTANCE.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// `crmchats_init`: a repeated call with the same configuration reuses the instance (PHP-FPM
/// calls it on every request); a changed one replaces it.
pub fn init(config: Value) -> Result<Value> {
    {
        let guard = INSTANCE.read().unwrap_or_else(|p| p.into_inner());
        if let Some(installed) = guard.as_ref().filter(|i| i.config == config) {
            return Ok(installed.instance.describe(true));
        }
    }
    // A configuration that fails leaves no instance behind: calls then answer not_initialized
    // rather than going on with the previous configuration (maybe another tenant's).
    let instance = match Crmchats::open(&config) {
        Ok(instance) => Arc::new(instance),
        Err(e) => {
            *INSTANCE.write().unwrap_or_else(|p| p.into_inner()) = None;
            return Err(e);
        }
    };
    let description = instance.describe(false);
    *INSTANCE.write().unwrap_or_else(|p| p.into_inner()) = Some(Installed { config, instance });
    Ok(description)
}

/// The instance `init` installed.
pub fn instance() -> Result<Arc<Crmchats>> {
    let guard = INSTANCE.read().unwrap_or_else(|p| p.into_inner());
    guard
        .as_ref()
        .map(|i| i.instance.clone())
        .ok_or(Error::NotInitialized)
}

// ---------------------------------------------------------------------------------------------
// Requests.

fn parse<T: for<'de> Deserialize<'de>>(what: &str, params: &Value) -> Result<T> {
    let params = if params.is_null() {
        Value::Object(Map::new())
    } else {
        params.clone()
    };
    serde_json::from_value(params).map_err(|e| Error::InvalidArgument(format!("{what}: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookRequestJson {
    channel_id: i64,
    #[serde(default = "default_post")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, HeaderValue>,
    #[serde(default)]
    query: BTreeMap<String, HeaderValue>,
}

/// PHP may hand a header as a string or as a list of strings.
#[derive(Deserialize)]
#[serde(untagged)]
enum HeaderValue {
    One(String),
    Many(Vec<String>),
}

impl HeaderValue {
    fn joined(self) -> String {
        match self {
            HeaderValue::One(s) => s,
            HeaderValue::Many(v) => v.join(", "),
        }
    }
}

fn default_post() -> String {
    "POST".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendMessageJson {
    dialog_id: DialogId,
    operator_id: OperatorId,
    #[serde(default)]
    text: String,
    #[serde(default)]
    attachments: Vec<AttachmentJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentJson {
    path: Option<String>,
    data_base64: Option<String>,
    name: Option<String>,
    mime: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListDialogsJson {
    operator_id: OperatorId,
    view: Option<String>,
    tag: Option<String>,
    #[serde(default)]
    status: Option<String>,
    channel_id: Option<i64>,
    search: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelInputJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    channel_id: Option<i64>,
    name: Option<String>,
    token: Option<String>,
    settings: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct ChannelIdJson {
    channel_id: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropJson {
    operator_id: OperatorId,
    confirm: String,
}

/// What `storage.drop` wants spelled out, so no stray call removes a CRM's chat history.
const DROP_CONFIRMATION: &str = "drop all crmchats data";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelTypeJson {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MediaLinkJson {
    channel_id: i64,
    attachment_id: i64,
    expires: i64,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessagesListJson {
    dialog_id: DialogId,
    operator_id: OperatorId,
    before_id: Option<i64>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageOperatorJson {
    message_id: i64,
    operator_id: OperatorId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialogOperatorJson {
    dialog_id: DialogId,
    operator_id: OperatorId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentOperatorJson {
    attachment_id: i64,
    operator_id: OperatorId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorOperatorJson {
    visitor_id: i64,
    operator_id: OperatorId,
}

// ---------------------------------------------------------------------------------------------

impl Crmchats {
    pub fn open(config: &Value) -> Result<Crmchats> {
        Ok(Crmchats {
            rt: Runtime::open(Config::from_json(config)?)?,
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    fn describe(&self, reused: bool) -> Value {
        json!({
            "version": VERSION,
            "schema_version": crate::store::schema_version(),
            "identity": self.rt.config.identity,
            "reused": reused,
        })
    }

    /// `crmchats_call`: everything that has no function of its own.
    pub fn call(&self, method: &str, params: &Value) -> Result<Value> {
        match method {
            "channels.check" => self.channels_check(params),
            "channels.create" => self.channels_create(params),
            "channels.update" => self.channels_update(params),
            "channels.delete" => self.channels_delete(params),
            "channels.list" => self.channels_list(),
            "channels.types" => Ok(json!({
                "types": supported().into_iter().map(channel_type_json).collect::<Vec<_>>()
            })),
            "channels.schema" => {
                let p: ChannelTypeJson = parse(method, params)?;
                let provider = ChannelType::parse(&p.kind)
                    .and_then(provider_for)
                    .ok_or_else(|| {
                        Error::invalid(
                            "type",
                            format!("`{}` is not a channel type of this build", p.kind),
                        )
                    })?;
                Ok(channel_type_json(provider))
            }
            "channels.health" => self.channels_health(params),
            "storage.drop" => {
                let p: DropJson = parse(method, params)?;
                team::require_admin(&team::actor(&mut self.rt.store.db()?, p.operator_id)?)?;
                if p.confirm != DROP_CONFIRMATION {
                    return Err(Error::invalid(
                        "confirm",
                        format!("must be exactly \"{DROP_CONFIRMATION}\""),
                    ));
                }
                let dropped = self.rt.store.drop_all()?;
                // The next init migrates again instead of reusing this process's state.
                forget_instance();
                Ok(json!({"dropped": dropped}))
            }
            "media.open" => self.media_open(params),
            "channels.get" => {
                let p: ChannelIdJson = parse(method, params)?;
                Ok(json!({"channel": self.channel_json(&self.rt.store.channel(p.channel_id)?)}))
            }
            "messages.list" => self.messages_list(params),
            "messages.delete" => {
                let p: MessageOperatorJson = parse(method, params)?;
                team::actor(&mut self.rt.store.db()?, p.operator_id)?;
                outbound::delete_message(&self.rt, p.message_id, p.operator_id)?;
                let message = self.rt.store.db()?.message(p.message_id)?;
                Ok(json!({"message": self.message_json(&message, &[])}))
            }
            "messages.resend" => {
                let p: MessageOperatorJson = parse(method, params)?;
                let mut db = self.rt.store.db()?;
                let actor = team::actor(&mut db, p.operator_id)?;
                let message = db.message(p.message_id)?;
                team::visible_dialog(&mut db, &actor, message.dialog_id)?;
                drop(db);
                crate::outbox::resend(&self.rt, p.message_id)?;
                let mut db = self.rt.store.db()?;
                let message = db.message(p.message_id)?;
                let attachments = db.attachments_of(&[message.id])?;
                Ok(json!({"message": self.message_json(&message, &attachments)}))
            }
            "dialogs.get" => {
                let p: DialogOperatorJson = parse(method, params)?;
                let mut db = self.rt.store.db()?;
                let actor = team::actor(&mut db, p.operator_id)?;
                team::visible_dialog(&mut db, &actor, p.dialog_id)?;
                let dialog = db.dialog(p.dialog_id, p.operator_id)?;
                let operators = db
                    .dialog_operators(&[dialog.id])?
                    .remove(&dialog.id)
                    .unwrap_or_default();
                Ok(json!({"dialog": self.dialog_json(&dialog, &operators)}))
            }
            "dialogs.read" => {
                let p: DialogOperatorJson = parse(method, params)?;
                let mut db = self.rt.store.db()?;
                let actor = team::actor(&mut db, p.operator_id)?;
                team::visible_dialog(&mut db, &actor, p.dialog_id)?;
                db.mark_read(p.dialog_id, p.operator_id)?;
                Ok(json!({"dialog_id": p.dialog_id, "unread": 0}))
            }
            "attachments.get" => {
                let p: AttachmentOperatorJson = parse(method, params)?;
                let mut db = self.rt.store.db()?;
                let actor = team::actor(&mut db, p.operator_id)?;
                team::visible_attachment(&mut db, &actor, p.attachment_id)?;
                let mut a = db.attachment(p.attachment_id)?;
                // A download that failed when the message came is tried again now.
                if a.sha256.is_none() && a.error_code.as_deref() != Some("file_too_large") {
                    match ingest::retry_attachment(&self.rt, &mut db, a.id) {
                        Ok(true) => a = db.attachment(a.id)?,
                        Ok(false) => {}
                        Err(e) => log::warn!("attachment {}: download retry failed: {e}", a.id),
                    }
                }
                self.stored_file_json(&a).ok_or_else(|| {
                    Error::NotFound(format!(
                        "attachment {} has no stored file{}",
                        a.id,
                        a.error_message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    ))
                })
            }
            "visitors.refresh_profile" => {
                let p: VisitorOperatorJson = parse(method, params)?;
                let mut db = self.rt.store.db()?;
                let actor = team::actor(&mut db, p.operator_id)?;
                team::visible_visitor(&mut db, &actor, p.visitor_id)?;
                let visitor = db.visitor(p.visitor_id)?;
                let channel = db.channel(visitor.channel_id)?;
                self.rt.with_provider(&channel, |provider, ctx| {
                    ingest::refresh_visitor_profile(
                        &self.rt, &mut db, provider, ctx, visitor.id, true,
                    )
                })??;
                let visitor = db.visitor(p.visitor_id)?;
                Ok(
                    json!({"visitor": {"id": visitor.id, "name": visitor.name, "username": visitor.username,
                    "avatar_url": visitor.avatar_attachment_id.map(|id| self.rt.attachment_url(id))}}),
                )
            }
            other => self
                .team_call(other, params)
                .or_else(|| self.live_call(other, params))
                .or_else(|| self.productivity_call(other, params))
                .unwrap_or_else(|| Err(Error::UnknownMethod(other.to_string()))),
        }
    }

    // --- webhooks -------------------------------------------------------------------------------

    pub fn handle_webhook(&self, request: &Value, body: &[u8]) -> Result<Value> {
        let r: WebhookRequestJson = parse("request", request)?;
        let incoming = IncomingWebhook {
            channel_id: r.channel_id,
            method: &r.method.to_ascii_uppercase(),
            headers: r
                .headers
                .into_iter()
                .map(|(k, v)| (k, v.joined()))
                .collect(),
            query: r.query.into_iter().map(|(k, v)| (k, v.joined())).collect(),
            body,
        };
        let response = ingest::handle_webhook(&self.rt, &incoming);
        Ok(json!({"status": response.status, "headers": response.headers, "body": response.body}))
    }

    // --- messages -------------------------------------------------------------------------------

    pub fn send_message(&self, request: &Value) -> Result<Value> {
        let r: SendMessageJson = parse("request", request)?;
        {
            let mut db = self.rt.store.db()?;
            let actor = team::actor(&mut db, r.operator_id)?;
            let dialog = team::visible_dialog(&mut db, &actor, r.dialog_id)?;
            // Answering a dialog from the queue takes it.
            if dialog.open && dialog.assigned_operator_id.is_none() {
                team::take(&self.rt, &actor, dialog.id)?;
            }
        }
        let mut attachments = Vec::with_capacity(r.attachments.len());
        for (i, a) in r.attachments.into_iter().enumerate() {
            attachments.push(outgoing_attachment(i, a)?);
        }
        let reply = Reply {
            dialog_id: r.dialog_id,
            author: Author::Operator(r.operator_id),
            text: r.text,
            attachments,
        };
        let id = outbound::send_reply(&self.rt, reply)?;
        let mut db = self.rt.store.db()?;
        let message = db.message(id)?;
        let attachments = db.attachments_of(&[id])?;
        Ok(json!({"message": self.message_json(&message, &attachments)}))
    }

    fn messages_list(&self, params: &Value) -> Result<Value> {
        let p: MessagesListJson = parse("messages.list", params)?;
        let limit = page_size(p.limit)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_dialog(&mut db, &actor, p.dialog_id)?;
        let messages = db.messages(p.dialog_id, p.before_id, limit)?;
        let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
        let attachments = db.attachments_of(&ids)?;
        let list: Vec<Value> = messages
            .iter()
            .map(|m| self.message_json(m, &of_message(&attachments, m)))
            .collect();
        Ok(json!({"messages": list}))
    }

    // --- dialogs --------------------------------------------------------------------------------

    pub fn list_dialogs(&self, request: &Value) -> Result<Value> {
        let r: ListDialogsJson = parse("request", request)?;
        let status = match r.status.as_deref().unwrap_or("open") {
            "all" => None,
            s @ ("open" | "closed") => Some(s),
            other => {
                return Err(Error::invalid(
                    "status",
                    format!("`{other}` is not one of open, closed, all"),
                ))
            }
        };
        let after = r
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        let limit = page_size(r.limit)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, r.operator_id)?;
        let view = match r.view.as_deref() {
            None if actor.is_admin() => DialogView::All,
            // CRM users who are not operators see only dialogs they were invited to.
            None if !actor.is_operator => DialogView::Mine,
            Some("queue") if !actor.is_operator && !actor.is_admin() => {
                return Err(Error::Forbidden(
                    "the queue is for the inbox's operators".into(),
                ))
            }
            None => DialogView::Available,
            Some("mine") => DialogView::Mine,
            Some("queue") => DialogView::Queue,
            Some("all") if actor.is_admin() => DialogView::All,
            Some("all") => {
                return Err(Error::Forbidden(
                    "only CRM administrators see all dialogs; use mine or queue".into(),
                ))
            }
            Some(other) => {
                return Err(Error::invalid(
                    "view",
                    format!("`{other}` is not one of mine, queue, all"),
                ))
            }
        };
        let query = DialogListQuery {
            operator_id: r.operator_id,
            view,
            tag: r.tag.as_deref().map(str::trim).filter(|t| !t.is_empty()),
            status,
            channel_id: r.channel_id,
            search: r.search.as_deref(),
            limit,
            after,
        };
        let (dialogs, more) = db.list_dialogs(&query)?;
        let ids: Vec<DialogId> = dialogs.iter().map(|d| d.id).collect();
        let mut operators = db.dialog_operators(&ids)?;
        let next_cursor = if more {
            dialogs
                .last()
                .map(|d| encode_cursor(d.last_activity_at, d.id))
        } else {
            None
        };
        let list: Vec<Value> = dialogs
            .iter()
            .map(|d| self.dialog_json(d, &operators.remove(&d.id).unwrap_or_default()))
            .collect();
        Ok(json!({"dialogs": list, "next_cursor": next_cursor}))
    }

    // --- channels -------------------------------------------------------------------------------

    fn channels_check(&self, params: &Value) -> Result<Value> {
        let input: ChannelInputJson = parse("channels.check", params)?;
        let channel = draft_channel(&input)?;
        let info = self.rt.with_provider(&channel, |p, ctx| p.check(ctx))??;
        Ok(serde_json::to_value(info).unwrap_or_default())
    }

    fn channels_create(&self, params: &Value) -> Result<Value> {
        let input: ChannelInputJson = parse("channels.create", params)?;
        let mut channel = draft_channel(&input)?;
        if channel.name.trim().is_empty() {
            return Err(Error::invalid("name", "a channel needs a name"));
        }
        let info = self.rt.with_provider(&channel, |p, ctx| p.check(ctx))??;
        keep_account_info(&mut channel, &info);
        channel.id = self
            .rt
            .store
            .insert_channel(channel.kind, &record_of(&channel, &info))?;
        self.register_webhook(&channel)?;
        Ok(json!({"channel": self.channel_json(&self.rt.store.channel(channel.id)?)}))
    }

    fn channels_update(&self, params: &Value) -> Result<Value> {
        let input: ChannelInputJson = parse("channels.update", params)?;
        let id = input
            .channel_id
            .ok_or_else(|| Error::invalid("channel_id", "is required"))?;
        let mut channel = self.rt.store.channel(id)?;
        if !channel.active {
            return Err(Error::NotFound(format!("channel {id} was deleted")));
        }
        if let Some(kind) = input
            .kind
            .as_deref()
            .filter(|k| *k != channel.kind.as_str())
        {
            return Err(Error::invalid(
                "type",
                format!("a {} channel cannot become {kind}", channel.kind.as_str()),
            ));
        }
        if let Some(name) = input.name {
            channel.name = name;
        }
        if let Some(token) = input.token.filter(|t| !is_masked(t)) {
            channel.token = token;
        }
        if let Some(settings) = input.settings {
            apply_settings(&mut channel, settings, true)?;
        }
        complete_from_schema(&mut channel)?;
        let info = self.rt.with_provider(&channel, |p, ctx| p.check(ctx))??;
        keep_account_info(&mut channel, &info);
        let url = self.rt.webhook_url(id);
        let registered = !self.rt.config.public_base_url.is_empty();
        if registered {
            // The messenger learns the new token and secret before they are saved: when it
            // refuses, nothing changes and the registration it has keeps working.
            let kept = self
                .rt
                .with_provider(&channel, |p, ctx| p.set_webhook(ctx, &url))??;
            channel.settings.extend(kept);
        }
        self.rt
            .store
            .update_channel(id, &record_of(&channel, &info))?;
        self.rt.forget_channel(id);
        if registered {
            self.rt
                .store
                .set_webhook_state(id, WebhookState::Registered, None)?;
        } else {
            self.register_webhook(&channel)?; // records why it cannot be registered
        }
        Ok(json!({"channel": self.channel_json(&self.rt.store.channel(id)?)}))
    }

    fn channels_delete(&self, params: &Value) -> Result<Value> {
        let p: ChannelIdJson = parse("channels.delete", params)?;
        let channel = self.rt.store.channel(p.channel_id)?;
        if channel.active {
            // The history stays; the messenger stops calling us. A failure to unregister is
            // recorded but does not keep the channel alive (webhooks to it now answer 404).
            let removed = self
                .rt
                .with_provider(&channel, |p, ctx| p.delete_webhook(ctx))?;
            let error = removed.err().map(|e| e.to_string());
            self.rt.store.deactivate_channel(channel.id)?;
            self.rt.forget_channel(channel.id);
            let state = if error.is_some() {
                WebhookState::Failed
            } else {
                WebhookState::None
            };
            self.rt
                .store
                .set_webhook_state(channel.id, state, error.as_deref())?;
        }
        Ok(json!({"channel": self.channel_json(&self.rt.store.channel(channel.id)?)}))
    }

    /// The messenger's view of the webhook beside ours; a webhook the messenger lost is
    /// registered again (silent webhook loss is what admins of other inboxes never see).
    fn channels_health(&self, params: &Value) -> Result<Value> {
        let p: ChannelIdJson = parse("channels.health", params)?;
        let channel = self.rt.store.channel(p.channel_id)?;
        if !channel.active {
            return Err(Error::NotFound(format!(
                "channel {} was deleted",
                channel.id
            )));
        }
        let reported = self.rt.with_provider(&channel, |p, ctx| p.health(ctx))?;
        let mut reregistered = false;
        let messenger = match reported {
            Ok(health) => {
                // Providers may add their own query to our URL (a key), so a prefix is ours.
                let ours = self.rt.webhook_url(channel.id);
                let elsewhere = health
                    .url
                    .as_deref()
                    .is_some_and(|u| u != ours && !u.starts_with(&format!("{ours}&")));
                let lost = health.registered == Some(false) || elsewhere;
                if lost && !self.rt.config.public_base_url.is_empty() {
                    self.register_webhook(&channel)?;
                    reregistered = true;
                }
                json!({"ok": true, "webhook": health})
            }
            Err(e) => {
                self.rt
                    .store
                    .mark_channel_error(channel.id, Timestamp::now(), &e.to_string())?;
                json!({"ok": false, "error": {"code": e.code(), "message": e.to_string()}})
            }
        };
        let channel = self.rt.store.channel(channel.id)?;
        Ok(json!({
            "channel": self.channel_json(&channel),
            "messenger": messenger,
            "reregistered": reregistered,
        }))
    }

    /// A stored file behind a signed, expiring link given to a messenger (Viber fetches media by
    /// URL); `media.php` streams the returned path.
    fn media_open(&self, params: &Value) -> Result<Value> {
        let p: MediaLinkJson = parse("media.open", params)?;
        let refused = || Error::Forbidden("the media link is invalid or has expired".into());
        if p.expires < Timestamp::now().millis() / 1000 {
            return Err(refused());
        }
        let channel = self.rt.store.channel(p.channel_id).map_err(|_| refused())?;
        let expected = crate::runtime::media_signature(&channel, p.attachment_id, p.expires);
        if !constant_time_eq(expected.as_bytes(), p.signature.as_bytes()) {
            return Err(refused());
        }
        let mut db = self.rt.store.db()?;
        let a = db.attachment(p.attachment_id)?;
        if db.attachment_channel(a.id)? != Some(channel.id) {
            return Err(refused());
        }
        self.stored_file_json(&a)
            .ok_or_else(|| Error::NotFound(format!("attachment {} has no stored file", a.id)))
    }

    fn channels_list(&self) -> Result<Value> {
        let channels = self.rt.store.channels(false)?;
        Ok(json!({"channels": channels.iter().map(|c| self.channel_json(c)).collect::<Vec<_>>()}))
    }

    /// Registers the webhook and records the outcome on the channel; a refusal is shown to the
    /// admin as the webhook's state rather than losing the saved channel.
    fn register_webhook(&self, channel: &Channel) -> Result<()> {
        if self.rt.config.public_base_url.is_empty() {
            let why = "public_base_url is not configured, so no webhook address can be given to the messenger";
            self.rt
                .store
                .set_webhook_state(channel.id, WebhookState::Failed, Some(why))?;
            return Ok(());
        }
        let url = self.rt.webhook_url(channel.id);
        let outcome = self
            .rt
            .with_provider(channel, |p, ctx| p.set_webhook(ctx, &url))?;
        match outcome {
            Ok(kept) => {
                self.rt.store.merge_channel_settings(channel.id, &kept)?;
                self.rt.forget_channel(channel.id);
                self.rt
                    .store
                    .set_webhook_state(channel.id, WebhookState::Registered, None)?
            }
            Err(e) => self.rt.store.set_webhook_state(
                channel.id,
                WebhookState::Failed,
                Some(&e.to_string()),
            )?,
        }
        Ok(())
    }

    // --- shared ---------------------------------------------------------------------------------

    fn channel_json(&self, c: &Channel) -> Value {
        let mut settings = masked_settings(&Value::Object(c.settings.clone()));
        // Values we generated or the messenger gave us (a verify token, a confirmation code)
        // are there to be copied, not hidden.
        if let (Some(provider), Value::Object(shown)) = (provider_for(c.kind), &mut settings) {
            for field in provider.settings_schema() {
                let Some(v) = c.settings.get(field.name) else {
                    continue;
                };
                match field.kind {
                    FieldKind::Generated | FieldKind::Readonly => {
                        shown.insert(field.name.to_string(), v.clone());
                    }
                    // Secret by the schema, whatever its name says.
                    FieldKind::Secret => {
                        let masked = v.as_str().map(mask).unwrap_or_else(|| MASK.to_string());
                        shown.insert(field.name.to_string(), Value::String(masked));
                    }
                    _ => {}
                }
            }
        }
        let ts = |t: &Option<Timestamp>| t.map(|t| t.to_rfc3339());
        json!({
            "id": c.id,
            "type": c.kind.as_str(),
            "name": c.name,
            "external_id": c.external_id,
            "bot_name": c.bot_name,
            "active": c.active,
            "token": mask(&c.token),
            "webhook": {
                "url": self.rt.webhook_url(c.id),
                "state": c.webhook_state.as_str(),
                "error": c.webhook_error,
                "secret": mask(&c.webhook_secret),
            },
            "settings": settings,
            "embed": (c.kind == ChannelType::Widget).then(|| self.widget_embed(c.id)),
            "activity": {
                "last_inbound_at": ts(&c.health.last_inbound_at),
                "last_outbound_at": ts(&c.health.last_outbound_at),
                "last_error": c.health.last_error,
                "last_error_at": ts(&c.health.last_error_at),
            },
        })
    }

    /// The snippet a site owner pastes before `</body>`.
    fn widget_embed(&self, channel_id: i64) -> String {
        let base = self.rt.config.public_base_url.trim_end_matches('/');
        format!(
            "<script src=\"{base}/widget/widget.js\" data-crmchats-channel=\"{channel_id}\" \
             data-crmchats-endpoint=\"{base}/widget.php\" async></script>"
        )
    }

    fn dialog_json(&self, d: &DialogRow, operator_ids: &[OperatorId]) -> Value {
        json!({
            "id": d.id,
            "channel": {"id": d.channel_id, "type": d.channel_type, "name": d.channel_name},
            "visitor": {
                "id": d.visitor_id,
                "name": d.visitor_name,
                "username": d.visitor_username,
                "avatar_url": d.visitor_avatar_id.map(|id| self.rt.attachment_url(id)),
            },
            "status": d.status,
            "last_message": d.last_message_direction.as_ref().map(|dir| json!({
                "text": d.last_message_text, "direction": dir, "at": d.last_activity_at.to_rfc3339(),
            })),
            "unread": d.unread.max(0),
            "operator_ids": operator_ids,
            "assigned_operator_id": d.assigned_operator_id,
            "rating": d.rating,
            "client_id": d.client_id,
            "contact_id": d.contact_id,
            "updated_at": d.last_activity_at.to_rfc3339(),
        })
    }

    /// `{"attachment": {..., "path"}}` for a file PHP streams, when it is on disk.
    fn stored_file_json(&self, a: &AttachmentRow) -> Option<Value> {
        let path = a
            .sha256
            .as_deref()
            .and_then(|s| self.rt.files.path_of(s))
            .filter(|p| p.exists())?;
        Some(
            json!({"attachment": {"id": a.id, "name": a.name, "mime": a.mime, "size": a.size,
            "path": path.to_string_lossy()}}),
        )
    }

    fn message_json(&self, m: &MessageRow, attachments: &[AttachmentRow]) -> Value {
        let author_id = match m.author_type.as_str() {
            "visitor" => Some(m.visitor_id),
            "operator" => m.author_operator_id,
            _ => None,
        };
        let error = (m.status == MessageStatus::Failed || m.error_code.is_some()).then(|| {
            json!({"code": m.error_code, "message": m.error_message, "retry_after": m.retry_after})
        });
        json!({
            "id": m.id,
            "dialog_id": m.dialog_id,
            "direction": m.direction.as_str(),
            "author": {"type": m.author_type, "id": author_id, "name": m.author_name},
            "text": m.text,
            "attachments": attachments.iter().map(|a| json!({
                "id": a.id,
                "name": a.name,
                "mime": a.mime,
                "size": a.size,
                "url": a.sha256.as_ref().map(|_| self.rt.attachment_url(a.id)),
                "error": a.error_code.as_ref().map(|code| json!({"code": code, "message": a.error_message})),
            })).collect::<Vec<_>>(),
            "status": m.status.as_str(),
            "error": error,
            "external_id": m.external_id,
            "created_at": m.created_at.to_rfc3339(),
            "edited_at": m.edited_at.map(|t| t.to_rfc3339()),
        })
    }
}

/// The attachments of one message among a page's.
fn of_message(attachments: &[AttachmentRow], m: &MessageRow) -> Vec<AttachmentRow> {
    attachments
        .iter()
        .filter(|a| a.message_id == Some(m.id))
        .cloned()
        .collect()
}

fn page_size(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// The stored fields of a channel, with the account "Check" found.
fn record_of<'a>(channel: &'a Channel, info: &'a AccountInfo) -> ChannelRecord<'a> {
    ChannelRecord {
        name: &channel.name,
        token: &channel.token,
        settings: &channel.settings,
        webhook_secret: &channel.webhook_secret,
        external_id: Some(&info.bot_id),
        bot_name: Some(&info.bot_name),
    }
}

/// A channel built from a create/check request, not yet stored.
fn draft_channel(input: &ChannelInputJson) -> Result<Channel> {
    let kind_str = input
        .kind
        .as_deref()
        .ok_or_else(|| Error::invalid("type", "is required"))?;
    let kind = ChannelType::parse(kind_str).ok_or_else(|| {
        Error::invalid("type", format!("`{kind_str}` is not one of telegram, viber, vk, facebook, chatapi, whatsapp_cloud, widget"))
    })?;
    let token = input.token.clone().unwrap_or_default();
    // Types whose form has a token field need one (the site widget has none).
    let needs_token = provider_for(kind)
        .map(|p| p.settings_schema().iter().any(|f| f.name == "token"))
        .unwrap_or(true);
    if needs_token && token.trim().is_empty() {
        return Err(Error::invalid("token", "is required"));
    }
    let mut channel = Channel {
        id: 0,
        kind,
        name: input.name.clone().unwrap_or_default(),
        external_id: None,
        bot_name: None,
        token: token.trim().to_string(),
        settings: Map::new(),
        webhook_secret: random_token(24),
        webhook_state: WebhookState::None,
        webhook_error: None,
        active: true,
        health: ChannelActivity::default(),
    };
    apply_settings(
        &mut channel,
        input.settings.clone().unwrap_or_default(),
        false,
    )?;
    complete_from_schema(&mut channel)?;
    Ok(channel)
}

/// Fills the values we generate (verify tokens) and refuses a form without a required field,
/// naming it, before any messenger is called.
fn complete_from_schema(channel: &mut Channel) -> Result<()> {
    let Some(provider) = provider_for(channel.kind) else {
        return Ok(());
    };
    for field in provider.settings_schema() {
        if field.name == "token" {
            continue; // checked with the token itself
        }
        let present = match channel.settings.get(field.name) {
            Some(Value::String(v)) => !v.trim().is_empty(),
            Some(Value::Null) | None => false,
            Some(_) => true,
        };
        match field.kind {
            FieldKind::Generated if !present => {
                channel
                    .settings
                    .insert(field.name.to_string(), Value::String(random_token(16)));
            }
            FieldKind::Readonly => {}
            _ if field.required && !present => {
                return Err(Error::invalid(
                    &format!("settings.{}", field.name),
                    format!(
                        "{} is required for a {} channel",
                        field.label,
                        channel.kind.as_str()
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// What "Check" found, on the channel before it is saved or its webhook registered: the account
/// id (providers subscribe by it) and the details that fill read-only fields.
fn keep_account_info(channel: &mut Channel, info: &AccountInfo) {
    channel.external_id = Some(info.bot_id.clone());
    channel.bot_name = Some(info.bot_name.clone());
    if let Some(provider) = provider_for(channel.kind) {
        for field in provider.settings_schema() {
            if field.kind == FieldKind::Readonly {
                if let Some(v) = info.details.get(field.name) {
                    channel.settings.insert(field.name.to_string(), v.clone());
                }
            }
        }
    }
}

/// What the settings page needs to draw a channel type's form.
fn channel_type_json(provider: &dyn Provider) -> Value {
    json!({
        "type": provider.kind().as_str(),
        "fields": provider.settings_schema(),
        "capabilities": provider.capabilities(),
    })
}

/// Validates and merges settings; `webhook_secret` moves to its own column. Masked values sent
/// back by a settings form keep the stored value.
fn apply_settings(channel: &mut Channel, settings: Map<String, Value>, merge: bool) -> Result<()> {
    if !merge {
        channel.settings.clear();
    }
    // Read-only fields come from the messenger ("Check", webhook registration), not the form.
    let readonly: Vec<&str> = provider_for(channel.kind)
        .map(|p| {
            p.settings_schema()
                .into_iter()
                .filter(|f| f.kind == FieldKind::Readonly)
                .map(|f| f.name)
                .collect()
        })
        .unwrap_or_default();
    for (key, value) in settings {
        if readonly.contains(&key.as_str()) {
            continue;
        }
        if matches!(&value, Value::String(s) if is_masked(s)) {
            continue;
        }
        match key.as_str() {
            "webhook_secret" => {
                let secret = value.as_str().unwrap_or_default();
                let valid = (1..=256).contains(&secret.len())
                    && secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    return Err(Error::invalid(
                        "settings.webhook_secret",
                        "1-256 characters of A-Z a-z 0-9 _ -",
                    ));
                }
                channel.webhook_secret = secret.to_string();
            }
            "proxy" => {
                let proxy = value.as_str().unwrap_or_default().trim().to_string();
                if proxy.is_empty() {
                    channel.settings.remove("proxy");
                } else {
                    validate_proxy(&proxy).map_err(|e| Error::invalid("settings.proxy", e))?;
                    channel.settings.insert(key, Value::String(proxy));
                }
            }
            _ => {
                channel.settings.insert(key, value);
            }
        }
    }
    Ok(())
}

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret", "token", "password", "passwd", "key", "pin", "auth",
    ]
    .iter()
    .any(|s| key.contains(s))
}

/// Settings as an admin may see them: every value under a secret-sounding key masked, at any
/// depth, whatever its type; proxy passwords masked.
fn masked_settings(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(url) if k.eq_ignore_ascii_case("proxy") => {
                            Value::String(mask_proxy(url))
                        }
                        Value::String(s) if is_secret_key(k) => Value::String(mask(s)),
                        Value::Null | Value::Bool(_) | Value::Object(_) | Value::Array(_) => {
                            masked_settings(v)
                        }
                        _ if is_secret_key(k) => Value::String(MASK.to_string()),
                        _ => v.clone(),
                    };
                    (k.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked_settings).collect()),
        other => other.clone(),
    }
}

const MASK: &str = "••••";

fn is_masked(s: &str) -> bool {
    s.contains(MASK)
}

/// Shows the last 4 characters of a secret, enough to tell two apart.
fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return MASK.to_string();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{MASK}{tail}")
}

/// `socks5://user:pass@host:1080` -> `socks5://user:••••@host:1080`.
fn mask_proxy(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return MASK.into();
    };
    match rest.rsplit_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:{MASK}@{host}")
        }
        None => url.to_string(),
    }
}

fn outgoing_attachment(i: usize, a: AttachmentJson) -> Result<OutgoingAttachment> {
    let field = format!("attachments[{i}]");
    let (source, default_name) = match (a.path, a.data_base64) {
        (Some(path), None) => {
            let path = PathBuf::from(path);
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (AttachmentSource::Path(path), name)
        }
        (None, Some(data)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| Error::invalid(&format!("{field}.data_base64"), e))?;
            (AttachmentSource::Bytes(bytes), None)
        }
        _ => {
            return Err(Error::invalid(
                &field,
                "give exactly one of `path` or `data_base64`",
            ))
        }
    };
    let name = a
        .name
        .or(default_name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "file".into());
    let mime = a
        .mime
        .filter(|m| m.contains('/'))
        .unwrap_or_else(|| mime_for_name(&name).to_string());
    Ok(OutgoingAttachment { source, name, mime })
}

fn encode_cursor(at: Timestamp, id: DialogId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}.{}", at.millis(), id))
}

fn decode_cursor(cursor: &str) -> Result<(Timestamp, DialogId)> {
    let bad = || Error::invalid("cursor", "not a cursor this library returned");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (at, id) = text.split_once('.').ok_or_else(bad)?;
    Ok((
        Timestamp(at.parse().map_err(|_| bad())?),
        id.parse().map_err(|_| bad())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_to_their_last_four_characters() {
        assert_eq!(
            mask("7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE"),
            "••••uVgE"
        );
        assert_eq!(mask("short"), "••••");
        assert_eq!(
            mask_proxy("socks5://bob:hunter2@10.0.0.1:1080"),
            "socks5://bob:••••@10.0.0.1:1080"
        );
        assert_eq!(mask_proxy("http://proxy:3128"), "http://proxy:3128");
    }

    #[test]
    fn secret_settings_are_masked_at_any_depth_and_case() {
        let shown = masked_settings(
            &json!({"apiKey": "SUPERSECRETVALUE1234", "auth": {"password": "hunter2hunter2"},
            "pin_code": 123456, "greeting": "hello", "list": [{"Token": "abcdefghijkl"}]}),
        );
        assert_eq!(shown["apiKey"], "••••1234");
        assert_eq!(shown["auth"]["password"], "••••ter2");
        assert_eq!(shown["pin_code"], "••••");
        assert_eq!(shown["greeting"], "hello");
        assert_eq!(shown["list"][0]["Token"], "••••ijkl");
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_refused() {
        let c = encode_cursor(Timestamp(1732542311250), 42);
        assert_eq!(decode_cursor(&c).unwrap(), (Timestamp(1732542311250), 42));
        assert_eq!(decode_cursor("!!").unwrap_err().code(), "invalid_argument");
    }
}
