//! The C ABI: the public contract PHP calls through FFI. Every export reads its C inputs, calls
//! the facade, and writes the JSON envelope; nothing else happens here.
//!
//! Every returned `char *` is UTF-8 JSON owned by the caller and released with `crmchats_free`:
//! `{"ok":true,"result":...}` or `{"ok":false,"error":{"code":"...","message":"..."}}`.
//! No panic crosses the boundary.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::{json, Value};

use crate::api;
use crate::error::{Error, Result};

/// Runs `f`, turning its result, its error or its panic into an envelope the caller owns.
fn boundary(f: impl FnOnce() -> Result<Value>) -> *mut c_char {
    let envelope = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(result)) => json!({"ok": true, "result": result}),
        Ok(Err(e)) => error_envelope(&e),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error!("panic caught at the C boundary: {what}");
            error_envelope(&Error::Internal(what))
        }
    };
    // serde_json escapes NUL, so the text never contains an interior NUL byte.
    CString::new(envelope.to_string())
        .map(CString::into_raw)
        .unwrap_or(std::ptr::null_mut())
}

fn error_envelope(e: &Error) -> Value {
    let mut error = json!({"code": e.code(), "message": e.to_string()});
    if let Some(seconds) = e.retry_after() {
        error["retry_after"] = json!(seconds);
    }
    json!({"ok": false, "error": error})
}

/// A C string argument as UTF-8; null or invalid UTF-8 is an `invalid_argument` naming it.
unsafe fn read_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(name, "is a null pointer"));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|e| Error::invalid(name, format!("is not valid UTF-8 ({e})")))
}

unsafe fn read_json(ptr: *const c_char, name: &str) -> Result<Value> {
    let text = read_str(ptr, name)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| Error::invalid(name, format!("is not valid JSON ({e})")))
}

unsafe fn read_bytes<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a [u8]> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(Error::invalid(
            name,
            "is a null pointer with a non-zero length",
        )),
        (false, _) => Ok(std::slice::from_raw_parts(ptr.cast::<u8>(), len)),
    }
}

/// Opens (or reuses) the library's state: database pool, migrations, storage, HTTP agents.
/// `config_json` is an object with at least `database_url` and `storage_dir`; see README.md.
/// A repeated call with the same configuration is cheap; a changed one replaces the state.
///
/// # Safety
/// `config_json` must be null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn crmchats_init(config_json: *const c_char) -> *mut c_char {
    boundary(|| api::init(read_json(config_json, "config")?))
}

/// Handles one webhook request. `request_json` = `{"channel_id","method","headers","query"}`;
/// `body` is the raw request body, `body_len` bytes long (may be NULL when `body_len` is 0).
/// The result `{"status","headers","body"}` is the HTTP answer to send back as is.
///
/// # Safety
/// `request_json` must be null or NUL-terminated; `body` must point to `body_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn crmchats_handle_webhook(
    request_json: *const c_char,
    body: *const c_char,
    body_len: usize,
) -> *mut c_char {
    boundary(|| {
        let request = read_json(request_json, "request")?;
        let body = read_bytes(body, body_len, "body")?;
        api::instance()?.handle_webhook(&request, body)
    })
}

/// Stores and sends an operator's message:
/// `{"dialog_id","operator_id","text","attachments":[{"path"|"data_base64","name","mime"}]}`.
///
/// # Safety
/// `request_json` must be null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn crmchats_send_message(request_json: *const c_char) -> *mut c_char {
    boundary(|| {
        let request = read_json(request_json, "request")?;
        api::instance()?.send_message(&request)
    })
}

/// Lists dialogs, newest activity first:
/// `{"operator_id","status":"open"|"closed"|"all","channel_id"?,"search"?,"limit"?,"cursor"?}`.
///
/// # Safety
/// `request_json` must be null or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn crmchats_list_dialogs(request_json: *const c_char) -> *mut c_char {
    boundary(|| {
        let request = read_json(request_json, "request")?;
        api::instance()?.list_dialogs(&request)
    })
}

/// Calls any other operation by name (`channels.create`, `messages.list`, ...).
///
/// # Safety
/// `method` and `params_json` must be null or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn crmchats_call(
    method: *const c_char,
    params_json: *const c_char,
) -> *mut c_char {
    boundary(|| {
        let method = read_str(method, "method")?;
        let params = read_json(params_json, "params")?;
        api::instance()?.call(method, &params)
    })
}

/// Releases a string returned by any `crmchats_*` function. NULL is ignored.
///
/// # Safety
/// `ptr` must be null or a pointer returned by this library and not freed before.
#[no_mangle]
pub unsafe extern "C" fn crmchats_free(ptr: *mut c_char) {
    if !ptr.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(CString::from_raw(ptr))));
    }
}

/// The library's version, a static string: do not free it.
#[no_mangle]
pub extern "C" fn crmchats_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
