//! The team's rules as an admin sets them: distribution, capacity, auto-close, auto-replies,
//! working hours, realtime credentials. Validation and the working-hours clock live here; storage
//! is the store's business.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AutoAdd {
    #[default]
    Off,
    /// A CRM client (company card) per new visitor.
    Client,
    /// A CRM contact (person card) per new visitor.
    Contact,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// New dialogs wait in the queue until someone takes them.
    Off,
    /// The online operator who got a dialog longest ago.
    #[default]
    RoundRobin,
    /// The online operator with the fewest open dialogs.
    LeastBusy,
}

/// An automatic message with its switch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
    pub text: String,
}

impl Toggle {
    fn new(enabled: bool, text: &str) -> Self {
        Toggle {
            enabled,
            text: text.to_string(),
        }
    }

    /// The text to send, when switched on.
    pub fn active(&self) -> Option<&str> {
        self.enabled.then_some(self.text.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoReplies {
    /// The visitor's first message on a channel.
    pub first_contact: Toggle,
    /// Nobody is online to take the dialog.
    pub operators_offline: Toggle,
    /// Outside working hours (takes the place of `operators_offline` then).
    pub out_of_hours: Toggle,
}

impl Default for AutoReplies {
    fn default() -> Self {
        AutoReplies {
            first_contact: Toggle::new(
                false,
                "Здравствуйте! Спасибо за обращение, мы ответим в ближайшее время.",
            ),
            operators_offline: Toggle::new(
                false,
                "Сейчас все операторы заняты. Мы ответим вам, как только освободимся.",
            ),
            out_of_hours: Toggle::new(
                false,
                "Сейчас нерабочее время. Мы ответим вам в рабочие часы.",
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notices {
    /// `{operator_name}` is replaced by the operator's name.
    pub operator_assigned: Toggle,
    /// `{operator_name}` is the colleague who joined.
    pub colleague_joined: Toggle,
}

impl Default for Notices {
    fn default() -> Self {
        Notices {
            operator_assigned: Toggle::new(false, "Вам ответит {operator_name}."),
            colleague_joined: Toggle::new(false, "К диалогу подключился {operator_name}."),
        }
    }
}

/// One opening span of a day, `HH:MM` to `HH:MM` (`24:00` closes at midnight).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Week {
    pub mon: Vec<Span>,
    pub tue: Vec<Span>,
    pub wed: Vec<Span>,
    pub thu: Vec<Span>,
    pub fri: Vec<Span>,
    pub sat: Vec<Span>,
    pub sun: Vec<Span>,
}

impl Default for Week {
    fn default() -> Self {
        let office = || {
            vec![Span {
                from: "09:00".into(),
                to: "18:00".into(),
            }]
        };
        Week {
            mon: office(),
            tue: office(),
            wed: office(),
            thu: office(),
            fri: office(),
            sat: Vec::new(),
            sun: Vec::new(),
        }
    }
}

impl Week {
    fn days(&self) -> [(&'static str, &Vec<Span>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct WorkingHours {
    /// Off: always working hours.
    pub enabled: bool,
    /// An IANA name (`Europe/Moscow`); None: the CRM's own time zone.
    pub timezone: Option<String>,
    pub week: Week,
}

/// comet-server.ru credentials; realtime works without them (built-in event stream).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Comet {
    pub dev_id: Option<String>,
    pub dev_key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub auto_add_visitors: AutoAdd,
    pub distribution: Distribution,
    /// Open dialogs an operator is given automatically at most; 0 = no limit.
    pub max_open_dialogs_per_operator: u32,
    /// Idle minutes after which `tick` closes a dialog; None = closed by hand only.
    pub auto_close_after_minutes: Option<u32>,
    /// An operator whose console has not been heard from for this long counts as offline.
    pub presence_timeout_seconds: u32,
    pub auto_replies: AutoReplies,
    pub notices: Notices,
    pub working_hours: WorkingHours,
    pub comet: Comet,
    pub rating: Rating,
}

/// Asking the visitor to rate a closed dialog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rating {
    pub enabled: bool,
    pub text: String,
    /// How long after the question a lone digit 1-5 counts as the answer.
    pub window_minutes: u32,
}

impl Default for Rating {
    fn default() -> Self {
        Rating {
            enabled: false,
            text: "Оцените, пожалуйста, наш разговор: отправьте цифру от 1 до 5.".into(),
            window_minutes: 60,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_add_visitors: AutoAdd::Off,
            distribution: Distribution::RoundRobin,
            max_open_dialogs_per_operator: 0,
            auto_close_after_minutes: None,
            presence_timeout_seconds: 90,
            auto_replies: AutoReplies::default(),
            notices: Notices::default(),
            working_hours: WorkingHours::default(),
            comet: Comet::default(),
            rating: Rating::default(),
        }
    }
}

const MAX_TEXT: usize = 1000;

impl Settings {
    /// Settings as stored; anything unreadable falls back to the defaults (logged), so a bad
    /// row never stops webhooks.
    pub fn from_stored(json: &str) -> Settings {
        serde_json::from_str(json).unwrap_or_else(|e| {
            log::error!("stored settings are unreadable, defaults used: {e}");
            Settings::default()
        })
    }

    /// `self` with `changes` merged in (objects merge key by key), validated.
    pub fn merged(&self, changes: &Value) -> Result<Settings> {
        if !changes.is_object() {
            return Err(Error::invalid("settings", "must be a JSON object"));
        }
        let mut current = serde_json::to_value(self).map_err(|e| Error::Internal(e.to_string()))?;
        merge(&mut current, changes);
        let settings: Settings = serde_json::from_value(current).map_err(|e| {
            // serde does not name the field of a bad enum value: find the key that breaks.
            let culprit = changes.as_object().into_iter().flatten().find(|(k, v)| {
                let mut alone = serde_json::to_value(Settings::default()).unwrap_or_default();
                merge(&mut alone, &serde_json::json!({ k.as_str(): v }));
                serde_json::from_value::<Settings>(alone).is_err()
            });
            match culprit {
                Some((key, _)) => Error::invalid(key, e),
                None => Error::InvalidArgument(format!("settings: {e}")),
            }
        })?;
        settings.validate()?;
        Ok(settings)
    }

    pub fn validate(&self) -> Result<()> {
        if self.max_open_dialogs_per_operator > 10_000 {
            return Err(Error::invalid(
                "max_open_dialogs_per_operator",
                "0 (no limit) to 10000",
            ));
        }
        if let Some(m) = self.auto_close_after_minutes {
            if !(1..=525_600).contains(&m) {
                return Err(Error::invalid(
                    "auto_close_after_minutes",
                    "1 to 525600 minutes (a year), or null to close by hand",
                ));
            }
        }
        if !(15..=86_400).contains(&self.presence_timeout_seconds) {
            return Err(Error::invalid("presence_timeout_seconds", "15 to 86400"));
        }
        let texts = [
            (
                "auto_replies.first_contact",
                &self.auto_replies.first_contact,
            ),
            (
                "auto_replies.operators_offline",
                &self.auto_replies.operators_offline,
            ),
            ("auto_replies.out_of_hours", &self.auto_replies.out_of_hours),
            ("notices.operator_assigned", &self.notices.operator_assigned),
            ("notices.colleague_joined", &self.notices.colleague_joined),
        ];
        if self.rating.enabled && self.rating.text.trim().is_empty() {
            return Err(Error::invalid(
                "rating.text",
                "an enabled question needs a text",
            ));
        }
        if !(1..=10_080).contains(&self.rating.window_minutes) {
            return Err(Error::invalid(
                "rating.window_minutes",
                "1 to 10080 (a week)",
            ));
        }
        for (name, toggle) in texts {
            if toggle.text.chars().count() > MAX_TEXT {
                return Err(Error::invalid(
                    &format!("{name}.text"),
                    format!("at most {MAX_TEXT} characters"),
                ));
            }
            if toggle.enabled && toggle.text.trim().is_empty() {
                return Err(Error::invalid(
                    &format!("{name}.text"),
                    "an enabled message needs a text",
                ));
            }
        }
        if let Some(tz) = &self.working_hours.timezone {
            time_zone(tz).map_err(|e| Error::invalid("working_hours.timezone", e))?;
        }
        for (day, spans) in self.working_hours.week.days() {
            for (i, span) in spans.iter().enumerate() {
                let field = format!("working_hours.week.{day}[{i}]");
                let from = minute_of_day(&span.from).map_err(|e| Error::invalid(&field, e))?;
                let to = minute_of_day(&span.to).map_err(|e| Error::invalid(&field, e))?;
                if from >= to {
                    return Err(Error::invalid(
                        &field,
                        format!("opens at {} but closes at {}", span.from, span.to),
                    ));
                }
            }
        }
        match (&self.comet.dev_id, &self.comet.dev_key) {
            (Some(id), _) if !id.is_empty() && !id.chars().all(|c| c.is_ascii_digit()) => {
                return Err(Error::invalid("comet.dev_id", "the Dev ID is a number"));
            }
            (Some(id), key) if !id.is_empty() && key.as_deref().unwrap_or("").is_empty() => {
                return Err(Error::invalid("comet.dev_key", "is required with a Dev ID"));
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether `at` falls in working hours, in `crm_timezone` unless the settings name one.
    pub fn in_working_hours(&self, at: Timestamp, crm_timezone: Option<&str>) -> bool {
        let hours = &self.working_hours;
        if !hours.enabled {
            return true;
        }
        let name = hours.timezone.as_deref().or(crm_timezone).unwrap_or("UTC");
        let tz = time_zone(name).unwrap_or_else(|e| {
            log::warn!("working hours: {e}; UTC used");
            jiff::tz::TimeZone::UTC
        });
        let Ok(instant) = jiff::Timestamp::from_millisecond(at.millis()) else {
            return true;
        };
        let local = instant.to_zoned(tz);
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let day = local.weekday().to_monday_zero_offset() as usize;
        hours.week.days()[day].1.iter().any(|span| {
            let from = minute_of_day(&span.from).unwrap_or(0);
            let to = minute_of_day(&span.to).unwrap_or(0);
            (from..to).contains(&minute)
        })
    }

    /// For the admin's eyes: the Comet key masked.
    pub fn to_public_json(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(key) = v.pointer_mut("/comet/dev_key") {
            if key.as_str().is_some_and(|k| !k.is_empty()) {
                *key = Value::String(MASKED_KEY.into());
            }
        }
        v
    }
}

/// What `to_public_json` shows instead of the Comet key; sent back unchanged, it keeps the key.
pub const MASKED_KEY: &str = "••••";

fn merge(into: &mut Value, changes: &Value) {
    match (into, changes) {
        (Value::Object(into), Value::Object(changes)) => {
            for (k, v) in changes {
                if k == "dev_key" && v.as_str() == Some(MASKED_KEY) {
                    continue;
                }
                match into.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into, changes) => *into = changes.clone(),
    }
}

fn time_zone(name: &str) -> std::result::Result<jiff::tz::TimeZone, String> {
    jiff::tz::TimeZone::get(name)
        .map_err(|_| format!("`{name}` is not a time zone name (like Europe/Moscow)"))
}

/// `HH:MM` -> minutes since midnight; `24:00` is the end of the day.
fn minute_of_day(s: &str) -> std::result::Result<i32, String> {
    let bad = || format!("`{s}` is not a time like 09:00");
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if (h == 24 && m == 0) || ((0..24).contains(&h) && (0..60).contains(&m)) {
        Ok(h * 60 + m)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(rfc3339: &str) -> Timestamp {
        Timestamp::parse_rfc3339(rfc3339).unwrap()
    }

    #[test]
    fn partial_changes_merge_and_are_validated() {
        let s = Settings::default()
            .merged(&json!({"distribution": "least_busy", "auto_replies": {"first_contact": {"enabled": true}}}))
            .unwrap();
        assert_eq!(s.distribution, Distribution::LeastBusy);
        assert!(s.auto_replies.first_contact.enabled);
        assert!(!s.auto_replies.first_contact.text.is_empty(), "text kept");
        for (bad, field) in [
            (json!({"distribution": "random"}), "distribution"),
            (
                json!({"auto_close_after_minutes": 0}),
                "auto_close_after_minutes",
            ),
            (
                json!({"working_hours": {"timezone": "Mars/Olympus"}}),
                "working_hours.timezone",
            ),
            (
                json!({"working_hours": {"week": {"mon": [{"from": "18:00", "to": "09:00"}]}}}),
                "working_hours.week.mon[0]",
            ),
            (
                json!({"working_hours": {"week": {"mon": [{"from": "9", "to": "18:00"}]}}}),
                "working_hours.week.mon[0]",
            ),
            (
                json!({"auto_replies": {"out_of_hours": {"enabled": true, "text": " "}}}),
                "auto_replies.out_of_hours.text",
            ),
            (json!({"comet": {"dev_id": "15"}}), "comet.dev_key"),
            (json!({"surprise": 1}), "surprise"),
        ] {
            let e = Settings::default().merged(&bad).unwrap_err();
            assert_eq!(e.code(), "invalid_argument");
            assert!(e.to_string().contains(field), "{bad}: {e}");
        }
    }

    #[test]
    fn working_hours_follow_the_time_zone_and_dst() {
        let s = Settings::default()
            .merged(&json!({"working_hours": {"enabled": true}}))
            .unwrap();
        // Wednesday 2026-11-25: 06:30 UTC is 09:30 in Moscow (UTC+3), 07:30 in Berlin (UTC+1).
        assert!(s.in_working_hours(at("2026-11-25T06:30:00Z"), Some("Europe/Moscow")));
        assert!(!s.in_working_hours(at("2026-11-25T06:30:00Z"), Some("Europe/Berlin")));
        // 15:30 UTC = 18:30 Moscow: closed. Saturday: closed all day.
        assert!(!s.in_working_hours(at("2026-11-25T15:30:00Z"), Some("Europe/Moscow")));
        assert!(!s.in_working_hours(at("2026-11-28T08:00:00Z"), Some("Europe/Moscow")));
        // Berlin in summer is UTC+2: 07:30 UTC on a July Wednesday is 09:30 there.
        assert!(s.in_working_hours(at("2026-07-15T07:30:00Z"), Some("Europe/Berlin")));
        assert!(!s.in_working_hours(at("2026-01-14T07:30:00Z"), Some("Europe/Berlin")));
        // Off: always open.
        assert!(Settings::default().in_working_hours(at("2026-11-28T03:00:00Z"), None));
    }

    #[test]
    fn the_comet_key_is_masked_and_a_masked_key_keeps_the_stored_one() {
        let s = Settings::default()
            .merged(&json!({"comet": {"dev_id": "15", "dev_key": "secret-key"}}))
            .unwrap();
        let shown = s.to_public_json();
        assert_eq!(shown["comet"]["dev_key"], MASKED_KEY);
        let again = s.merged(&shown).unwrap();
        assert_eq!(again.comet.dev_key.as_deref(), Some("secret-key"));
    }
}
