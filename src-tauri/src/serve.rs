//! The in-process proxy of the embedded default: serves every deployment at
//! `http://<project>.localhost:<port>` (port 4800, or `PIER_PORT`; a free port when that one
//! is taken, e.g. by a running `pier serve`). It reads through a [`SwitchStore`] and takes
//! its base domains anew, so a settings change (store or base URL) re-targets it without
//! re-binding, and the app refreshes its caches after every change so new deployments show
//! at once.

use std::sync::Arc;
use std::time::Duration;

use pier_app::switch_store::SwitchStore;
use pier_core::store::DynStore;
use pier_proxy::functions::local::LocalConfig;
use pier_proxy::{Proxy, ProxyConfig};

pub struct Serve {
    pub proxy: Proxy,
    pub store: Arc<SwitchStore>,
}

/// Binds the proxy's port before the window opens, so links are right from the first paint.
pub fn bind() -> std::io::Result<std::net::TcpListener> {
    let port = std::env::var("PIER_PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(pier_core::config::DEFAULT_PORT);
    let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, port, "port taken; serving on a free port instead");
            std::net::TcpListener::bind(("127.0.0.1", 0))?
        }
    };
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// `localhost` always (the app's own links), plus the base URL's host when one is set.
pub fn base_domains(base_host: &str) -> Vec<String> {
    let mut domains = vec!["localhost".to_string()];
    if base_host != "localhost" {
        domains.push(base_host.to_string());
    }
    domains
}

pub fn start(
    listener: std::net::TcpListener,
    store: DynStore,
    base_host: &str,
) -> std::io::Result<Serve> {
    let switch = Arc::new(SwitchStore::new(store));
    let proxy = Proxy::new(
        switch.clone(),
        ProxyConfig {
            base_domains: base_domains(base_host),
            // The app refreshes after its own changes; this bounds what other writers (a
            // `pier deploy` in a terminal) take to show.
            target_ttl: Duration::from_millis(500),
            functions: Some(LocalConfig {
                secrets: Some(Arc::new(
                    pier_core::project_env::ProjectEnvs::for_this_machine(),
                )),
                ..LocalConfig::new(pier_core::functions::log::default_work_dir())
            }),
            ..ProxyConfig::default()
        },
    );
    let serving = proxy.clone();
    tauri::async_runtime::spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => listener,
            Err(error) => return tracing::error!(%error, "the proxy could not take its port"),
        };
        if let Err(error) = serving.serve(listener, std::future::pending()).await {
            tracing::error!(%error, "the in-process proxy stopped");
        }
    });
    Ok(Serve {
        proxy,
        store: switch,
    })
}
