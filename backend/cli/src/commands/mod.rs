//! One file per `pier` command, each with the body `main.rs` dispatches to: `deploy` (and
//! `build`, the builds it runs), `logs` (and `function_logs`, `pier logs --functions`), `ls`, `inspect`, `aliases` (`promote`, `rollback`),
//! `rm`, `watch`, `env`, `serve`, `gc`, `regions` (`pier regions status|sync`), `images` (`pier images build`). `setup`, `teardown` and `domains` are `setup_cmd.rs` and
//! `domains_cmd.rs`.

pub mod aliases;
pub mod build;
pub mod deploy;
pub mod env;
pub mod function_logs;
pub mod gc;
pub mod images;
pub mod inspect;
pub mod logs;
pub mod ls;
pub mod regions;
pub mod rm;
pub mod serve;
pub mod watch;
