//! Fuzzes Host routing: it must never panic, and a site label must be one DNS-like label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pier_proxy::host::{Route, route};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let bases = ["localhost".to_string(), "sites.example.com".to_string()];
    if let Some(Route::Label(label)) = route(raw, &bases) {
        assert!(!label.is_empty() && !label.contains('.') && !label.contains(':'));
    }
});
