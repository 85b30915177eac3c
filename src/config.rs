//! The configuration `crmchats_init` receives, validated once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::error::{Error, Result};

/// What `crmchats_init` accepts. Unknown keys are refused so a typo is noticed at once.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database_url: String,
    #[serde(default = "default_prefix")]
    pub table_prefix: String,
    #[serde(default = "default_identity")]
    pub identity: i64,
    pub storage_dir: PathBuf,
    #[serde(default)]
    pub public_base_url: String,
    /// Per provider type: `api_base` replaces the provider's scheme+host+port.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// Proxy for every provider call unless a channel sets its own.
    #[serde(default)]
    pub http_proxy: Option<String>,
    #[serde(default)]
    pub log_file: Option<PathBuf>,
    #[serde(default)]
    pub log_level: Option<String>,
    #[serde(default)]
    pub host: HostTables,
    /// Timeout of every provider HTTP call, in seconds.
    #[serde(default = "default_http_timeout")]
    pub http_timeout_secs: u64,
    /// Where comet-server's CometQL is reached (`host:port`, database): its public service unless
    /// replaced (tests and self-hosted comet servers).
    #[serde(default)]
    pub comet: CometEndpoint,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    #[serde(default)]
    pub api_base: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CometEndpoint {
    pub host: String,
    pub port: u16,
    pub database: String,
}

impl Default for CometEndpoint {
    fn default() -> Self {
        CometEndpoint {
            host: "app.comet-server.ru".into(),
            port: 3306,
            database: "CometQL_v1".into(),
        }
    }
}

/// Names of the host CRM's tables and columns (SalesMan defaults). Host tables are named in
/// full: `table_prefix` applies only to the plugin's own tables.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HostTables {
    pub user_table: String,
    pub user_id: String,
    pub user_name: String,
    pub user_login: String,
    pub user_is_admin: String,
    pub user_identity: String,
    pub client_table: String,
    pub client_id: String,
    pub client_title: String,
    pub client_phone: String,
    pub client_email: String,
    pub client_owner: String,
    pub client_identity: String,
    pub client_created: String,
    pub contact_table: String,
    pub contact_id: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_mobile: String,
    pub contact_email: String,
    pub contact_owner: String,
    pub contact_client: String,
    pub contact_identity: String,
    pub contact_created: String,
    pub settings_table: String,
    pub settings_timezone: String,
    pub settings_company: String,
    pub settings_identity: String,
}

impl HostTables {
    /// Every name with its configuration key (also its placeholder in query templates).
    pub fn names(&self) -> [(&'static str, &str); 28] {
        [
            ("user_table", &self.user_table),
            ("user_id", &self.user_id),
            ("user_name", &self.user_name),
            ("user_login", &self.user_login),
            ("user_is_admin", &self.user_is_admin),
            ("user_identity", &self.user_identity),
            ("client_table", &self.client_table),
            ("client_id", &self.client_id),
            ("client_title", &self.client_title),
            ("client_phone", &self.client_phone),
            ("client_email", &self.client_email),
            ("client_owner", &self.client_owner),
            ("client_identity", &self.client_identity),
            ("client_created", &self.client_created),
            ("contact_table", &self.contact_table),
            ("contact_id", &self.contact_id),
            ("contact_name", &self.contact_name),
            ("contact_phone", &self.contact_phone),
            ("contact_mobile", &self.contact_mobile),
            ("contact_email", &self.contact_email),
            ("contact_owner", &self.contact_owner),
            ("contact_client", &self.contact_client),
            ("contact_identity", &self.contact_identity),
            ("contact_created", &self.contact_created),
            ("settings_table", &self.settings_table),
            ("settings_timezone", &self.settings_timezone),
            ("settings_company", &self.settings_company),
            ("settings_identity", &self.settings_identity),
        ]
    }
}

impl Default for HostTables {
    fn default() -> Self {
        HostTables {
            user_table: "app_user".into(),
            user_id: "iduser".into(),
            user_name: "title".into(),
            user_login: "login".into(),
            user_is_admin: "isadmin".into(),
            user_identity: "identity".into(),
            client_table: "app_clientcat".into(),
            client_id: "clid".into(),
            client_title: "title".into(),
            client_phone: "phone".into(),
            client_email: "mail_url".into(),
            client_owner: "iduser".into(),
            client_identity: "identity".into(),
            client_created: "date_create".into(),
            contact_table: "app_personcat".into(),
            contact_id: "pid".into(),
            contact_name: "person".into(),
            contact_phone: "tel".into(),
            contact_mobile: "mob".into(),
            contact_email: "mail".into(),
            contact_owner: "iduser".into(),
            contact_client: "clid".into(),
            contact_identity: "identity".into(),
            contact_created: "date_create".into(),
            settings_table: "app_settings".into(),
            settings_timezone: "timezone".into(),
            settings_company: "company".into(),
            settings_identity: "identity".into(),
        }
    }
}

fn default_prefix() -> String {
    "app_".into()
}
fn default_identity() -> i64 {
    1
}
fn default_http_timeout() -> u64 {
    30
}

impl Config {
    pub fn from_json(json: &serde_json::Value) -> Result<Config> {
        let config: Config = serde_json::from_value(json.clone())
            .map_err(|e| Error::InvalidArgument(format!("config: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        if !self.database_url.starts_with("mysql://") {
            return Err(Error::invalid("database_url", "must start with mysql://"));
        }
        // Table names are at most 64 characters; the longest of ours adds 24 to the prefix.
        if !self.table_prefix.is_empty() && !is_identifier(&self.table_prefix)
            || self.table_prefix.len() > 32
        {
            return Err(Error::invalid(
                "table_prefix",
                "at most 32 letters, digits and _, not starting with a digit",
            ));
        }
        for (key, name) in self.host.names() {
            if !is_identifier(name) {
                return Err(Error::invalid(
                    &format!("host.{key}"),
                    "must be a table or column name (letters, digits, _)",
                ));
            }
        }
        if self.storage_dir.as_os_str().is_empty() {
            return Err(Error::invalid("storage_dir", "must not be empty"));
        }
        if self.http_timeout_secs == 0 || self.http_timeout_secs > 300 {
            return Err(Error::invalid(
                "http_timeout_secs",
                "must be between 1 and 300",
            ));
        }
        for (kind, p) in &self.providers {
            if let Some(base) = &p.api_base {
                if !(base.starts_with("http://") || base.starts_with("https://")) {
                    return Err(Error::invalid(
                        &format!("providers.{kind}.api_base"),
                        "must be an http(s) URL",
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn api_base(&self, provider_type: &str) -> Option<&str> {
        self.providers
            .get(provider_type)
            .and_then(|p| p.api_base.as_deref())
    }
}

/// Table and column names are pasted into SQL (they cannot be bound), so they are restricted.
pub fn is_identifier(s: &str) -> bool {
    let starts_well = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
