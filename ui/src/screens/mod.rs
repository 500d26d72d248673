//! One file per screen, plus the pieces several screens share (URL actions, confirmation,
//! the profile picker, text fields).

pub mod confirm;
pub mod deploy;
pub mod domains;
pub mod logs;
pub mod profile_picker;
pub mod project;
pub mod project_env;
pub mod projects;
pub mod regions;
pub mod settings;
pub mod setup;
pub mod setup_run;
pub mod text_field;
pub mod timeline;
pub mod url_actions;
pub mod watch;
