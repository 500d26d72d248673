//! The wire format between Pier's desktop engine (`pier-app`) and its window (`pier-ui`,
//! wasm): every event, view, form and log record that crosses Tauri's IPC, defined once and
//! linked by both sides, so the two cannot drift apart unnoticed. JSON through serde; the
//! names on the wire are the snake_case names [`named_enum!`] gives each enum variant.
//!
//! Only data lives here, and only what serde needs: no engine type, no I/O, nothing that
//! would not compile to wasm. No type here carries a credential (the Redis password goes
//! one way, from the Settings form to the keychain, and is never serialized back; so does a
//! `pier env` secret, from the Project screen).

#[macro_use]
mod named;
pub mod deploys;
pub mod domains;
pub mod env;
pub mod error;
pub mod events;
pub mod logs;
pub mod regions;
pub mod settings;
pub mod setup;
pub mod updates;
pub mod watches;

pub use error::UserError;
pub use events::AppEvent;
