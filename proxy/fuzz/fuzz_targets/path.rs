//! Fuzzes request-path normalisation: it must never panic, and whatever it accepts must be
//! absolute, free of `.`/`..` segments, backslashes and NUL, with no empty segments.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = pier_proxy::path::normalize(raw) {
        assert!(path.starts_with('/'));
        assert!(!path.split('/').any(|segment| segment == "." || segment == ".."));
        assert!(!path.contains('\\') && !path.contains('\0') && !path.contains("//"));
    }
});
