//! The facade's error type and its stable codes.
//!
//! Codes are a public contract (PHP code branches on them): add new ones, never rename.

use crate::providers::ProviderError;
use crate::store::StoreError;

/// Every error the facade can return; [`Error::code`] is what crosses the C ABI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("unknown method `{0}`")]
    UnknownMethod(String),
    #[error("crmchats_init has not been called (or failed) in this process")]
    NotInitialized,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// Someone else changed the same thing first (two operators taking one dialog).
    #[error("{0}")]
    Conflict(String),
    #[error("storage error: {0}")]
    Storage(String),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::UnknownMethod(_) => "unknown_method",
            Error::NotInitialized => "not_initialized",
            Error::NotFound(_) => "not_found",
            Error::Forbidden(_) => "forbidden",
            Error::Conflict(_) => "conflict",
            Error::Storage(_) => "storage_error",
            Error::Provider(e) => e.code(),
            Error::Internal(_) => "internal_error",
        }
    }

    /// Seconds the caller should wait before retrying, when the provider said so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::Provider(e) => e.retry_after(),
            _ => None,
        }
    }

    pub fn invalid(field: &str, why: impl std::fmt::Display) -> Self {
        Error::InvalidArgument(format!("`{field}`: {why}"))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Error::NotFound(what),
            other => Error::Storage(other.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
