//! `pier serve`: the edge proxy in this process, over the same store, at
//! `http://<project>.localhost:<port>` (loopback unless `--listen` says otherwise), until
//! Ctrl-C. Deployments' functions run in Node processes here (see pier-proxy's
//! `functions/local.rs`). A local store's aliases are re-read often, so a `pier watch` elsewhere shows at once.

use anyhow::Context;
use pier_core::config::Settings;
use pier_core::deployments;
use pier_core::store::DynStore;

pub async fn run(
    store: DynStore,
    settings: &Settings,
    port: Option<u16>,
    listen: Option<String>,
) -> anyhow::Result<()> {
    let address = match listen {
        Some(address) => address,
        None => format!(
            "127.0.0.1:{}",
            port.or(settings.base_url.port())
                .unwrap_or(pier_core::config::DEFAULT_PORT)
        ),
    };
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}; is another `pier serve` running? Try --port")
        })?;
    let bound = listener.local_addr()?;
    let mut base_domains = vec!["localhost".to_string()];
    if settings.base_url.host() != "localhost" {
        base_domains.push(settings.base_url.host().to_string());
    }
    // A local store answers in microseconds: re-reading aliases often makes a `pier watch` in
    // another terminal show up almost at once.
    let target_ttl = match settings.store {
        pier_core::store::StoreUrl::Local(_) => std::time::Duration::from_millis(150),
        pier_core::store::StoreUrl::S3 { .. } => pier_proxy::ProxyConfig::default().target_ttl,
    };
    let proxy = pier_proxy::Proxy::new(
        store.clone(),
        pier_proxy::ProxyConfig {
            base_domains,
            target_ttl,
            functions: Some(pier_proxy::functions::local::LocalConfig {
                secrets: Some(std::sync::Arc::new(
                    pier_core::project_env::ProjectEnvs::for_this_machine(),
                )),
                ..pier_proxy::functions::local::LocalConfig::new(
                    pier_core::functions::log::default_work_dir(),
                )
            }),
            ..Default::default()
        },
    );
    let local = pier_core::config::BaseUrl::local(bound.port());
    println!("Serving {} on {bound}", store.url());
    for project in deployments::list_projects(store.as_ref()).await? {
        if project.production.is_some() {
            println!("  {}", local.for_label(&project.name));
        }
    }
    println!(
        "Any project: {}  (Ctrl-C stops)",
        local.for_label("<project>")
    );
    proxy
        .serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
