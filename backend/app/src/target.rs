//! The target the app works against right now: the opened store, the base URL links use,
//! and where build logs go live. Opening a target does no network round trip, so a bucket
//! that is down or a Redis that is unreachable never holds up the window; those show up in
//! "test connection" and as clear errors on first use.
//!
//! With other regions in the settings, the target holds every region's store: deploys,
//! promotes and removals go through [`Regions`], so each region gets them by the one-store
//! rules, and the Projects and Project screens show each region's state.

use std::sync::Arc;
use std::time::Duration;

use super::events::UserError;
use super::secrets;
use super::settings::DesktopSettings;
use pier_core::config::BaseUrl;
use pier_core::logs::LiveAndBackend;
use pier_core::logs::memory::LogBus;
use pier_core::logs::redis::RedisLogs;
use pier_core::regions::{self, Region, Regions};
use pier_core::store::DynStore;

pub use pier_core::logs::LIVE_LOG_RETENTION;

#[derive(Clone)]
pub struct Target {
    pub settings: DesktopSettings,
    /// The primary region's store: what every list and lookup reads.
    pub store: DynStore,
    /// The primary and every other region; only the primary with one region.
    pub regions: Regions,
    pub base_url: BaseUrl,
    /// In-process live logs: the embedded default, and the fallback when Redis is down.
    pub memory_logs: Arc<LogBus>,
    pub redis: Option<Arc<RedisLogs>>,
}

impl Target {
    pub async fn open(settings: &DesktopSettings, serve_port: u16) -> Result<Target, UserError> {
        let store = pier_core::store::open(&settings.target.store_url()?).await?;
        let mut others = Vec::new();
        for (name, url) in settings.target.other_regions()? {
            others.push(Region {
                name,
                store: pier_core::store::open(&url).await?,
            });
        }
        let regions = Regions {
            primary: Region {
                name: settings
                    .aws()
                    .and_then(|aws| aws.region.clone())
                    .unwrap_or_else(|| regions::PRIMARY.into()),
                store: store.clone(),
            },
            others,
        };
        let base_url = match &settings.base_url {
            Some(url) => BaseUrl::parse(url).map_err(|detail| {
                UserError::new(
                    format!("The base URL `{url}` is not valid: {detail}"),
                    "fix it in Settings",
                )
            })?,
            None => BaseUrl::local(serve_port),
        };
        let redis = match &settings.redis_url {
            Some(url) => Some(Arc::new(RedisLogs::open(
                &redis_url_with_secret(url)?,
                LIVE_LOG_RETENTION,
            )?)),
            None => None,
        };
        Ok(Target {
            settings: settings.clone(),
            store,
            regions,
            base_url,
            memory_logs: Arc::new(LogBus::new()),
            redis,
        })
    }

    /// Where a log is followed from: Redis when configured (it retries while Redis is
    /// away), else in-process.
    pub fn live(&self) -> Arc<dyn LiveAndBackend> {
        match &self.redis {
            Some(redis) => redis.clone(),
            None => self.memory_logs.clone(),
        }
    }

    /// Where a build started here publishes: Redis when it answers, else in-process with a
    /// warning (the whole log is archived to the store either way).
    pub async fn build_logs(&self) -> (Arc<dyn LiveAndBackend>, Option<UserError>) {
        let Some(redis) = &self.redis else {
            return (self.memory_logs.clone(), None);
        };
        match tokio::time::timeout(Duration::from_secs(3), redis.check()).await {
            Ok(Ok(())) => (redis.clone(), None),
            Ok(Err(error)) => (self.memory_logs.clone(), Some(error.into())),
            Err(_) => (
                self.memory_logs.clone(),
                Some(UserError::new(
                    format!("Redis at `{}` did not answer in 3 s", redis.display()),
                    "check that Redis runs and the URL in Settings; this build's log stays in the app",
                )),
            ),
        }
    }

    pub fn url_for(&self, label: &str) -> String {
        self.base_url.for_label(label)
    }
}

/// The saved URL with the keychain's password, at the moment of connecting. A keychain that
/// cannot be read means no password: Redis then says "auth required", which "test
/// connection" shows with what to do.
pub fn redis_url_with_secret(url: &str) -> Result<String, UserError> {
    Ok(match secrets::redis_password() {
        Ok(Some(password)) => secrets::with_password(url, &password),
        Ok(None) => url.to_string(),
        Err(error) => {
            tracing::warn!(%error, "the keychain could not be read; connecting without a password");
            url.to_string()
        }
    })
}
