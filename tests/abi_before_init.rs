//! Calls made before `crmchats_init` answer `not_initialized` (its own process: the instance is global).

use std::ffi::{CStr, CString};

use crmchats::ffi::*;

#[test]
fn every_call_before_init_is_not_initialized() {
    let method = CString::new("channels.list").unwrap();
    let params = CString::new("{}").unwrap();
    for ptr in [
        unsafe { crmchats_call(method.as_ptr(), params.as_ptr()) },
        unsafe { crmchats_list_dialogs(CString::new(r#"{"operator_id":1}"#).unwrap().as_ptr()) },
        unsafe { crmchats_send_message(CString::new(r#"{"dialog_id":1}"#).unwrap().as_ptr()) },
        unsafe {
            crmchats_handle_webhook(
                CString::new(r#"{"channel_id":1}"#).unwrap().as_ptr(),
                std::ptr::null(),
                0,
            )
        },
    ] {
        let text = unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_string();
        unsafe { crmchats_free(ptr) };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["error"]["code"], "not_initialized", "{v}");
    }
}
