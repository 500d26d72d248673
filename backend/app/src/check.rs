//! "Test connection" on the Settings screen: opens the store the form describes and asks it
//! whether the credentials, bucket and region work, pings Redis, and checks the base URL.
//! Each check says exactly what is wrong and what to do, and each has a time limit, so a
//! black-holed endpoint cannot hang the screen.

use std::time::Duration;

use super::events::UserError;
use super::settings::{DesktopSettings, StoreTarget};
use super::target::redis_url_with_secret;
use pier_core::logs::redis::RedisLogs;

const STORE_LIMIT: Duration = Duration::from_secs(20);
const REDIS_LIMIT: Duration = Duration::from_secs(5);

pub use pier_wire::settings::{CheckItem, CheckReport};

fn item(what: &str, result: Result<String, UserError>) -> CheckItem {
    match result {
        Ok(message) => CheckItem {
            what: what.into(),
            ok: true,
            message,
            hint: None,
        },
        Err(UserError(error)) => CheckItem {
            what: what.into(),
            ok: false,
            message: error.message,
            hint: Some(error.hint),
        },
    }
}

pub async fn run(settings: &DesktopSettings, serve_port: u16) -> CheckReport {
    let mut items = vec![item("store", check_store(settings).await)];
    if let Some(url) = &settings.redis_url {
        items.push(item("redis", check_redis(url).await));
    }
    let base = settings
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://localhost:{serve_port}"));
    items.push(item(
        "base_url",
        Ok(format!(
            "Sites will be linked as {}",
            pier_core::config::BaseUrl::parse(&base)
                .map(|url| url.for_label("<project>"))
                .unwrap_or(base)
        )),
    ));
    CheckReport {
        ok: items.iter().all(|item| item.ok),
        items,
    }
}

async fn check_store(settings: &DesktopSettings) -> Result<String, UserError> {
    let url = settings.target.store_url()?;
    let store = pier_core::store::open(&url).await?;
    match tokio::time::timeout(STORE_LIMIT, store.check()).await {
        Ok(Ok(())) => Ok(match &settings.target {
            StoreTarget::Embedded => format!("The local store `{url}` is ready"),
            StoreTarget::Aws(_) => format!("`{url}` answers, and your credentials may use it"),
        }),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(UserError::new(
            format!("`{url}` did not answer within {} s", STORE_LIMIT.as_secs()),
            "check the region and the endpoint override, and your network",
        )),
    }
}

async fn check_redis(url: &str) -> Result<String, UserError> {
    let logs = RedisLogs::open(
        &redis_url_with_secret(url)?,
        super::target::LIVE_LOG_RETENTION,
    )?;
    match tokio::time::timeout(REDIS_LIMIT, logs.check()).await {
        Ok(Ok(())) => Ok(format!("Redis at `{}` answers", logs.display())),
        Ok(Err(error)) => Err(error.into()),
        Err(_) => Err(UserError::new(
            format!(
                "Redis at `{}` did not answer within {} s",
                logs.display(),
                REDIS_LIMIT.as_secs()
            ),
            "check the host and port, and that Redis accepts connections from this machine",
        )),
    }
}
