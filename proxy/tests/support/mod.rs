//! What the proxy's integration tests share: a proxy serving on a loopback port until the
//! test drops it, and a request sent from a blocking thread (the test client is synchronous).

use std::net::SocketAddr;

use pier_core::lambda::{FunctionsRuntime, LambdaSettings};
use pier_core::records::write_json;
use pier_core::store::{self, DynReadStore, DynStore, PutOptions, StoreUrl, keys};
use pier_proxy::{Proxy, ProxyConfig};
use pier_tests::http::{self, Response};

/// A proxy serving on `addr`; it stops when this is dropped.
pub struct Serving {
    pub addr: SocketAddr,
    #[allow(dead_code)] // Not every test binary asks the proxy itself.
    pub proxy: Proxy,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn serve(store: DynReadStore, config: ProxyConfig) -> Serving {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let proxy = Proxy::new(store, config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = proxy.clone();
    tokio::spawn(async move {
        serving
            .serve(listener, async {
                let _ = stopped.await;
            })
            .await
    });
    Serving {
        addr,
        proxy,
        _stop: stop,
    }
}

/// Sends a request with a body (and its `Content-Length`) off the runtime's threads.
#[allow(dead_code)] // Not every test binary sends bodies.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    host: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let (method, host, target, body) = (
        method.to_string(),
        host.to_string(),
        target.to_string(),
        body.to_vec(),
    );
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        http::request_with_body(addr, &method, &host, &target, &headers, &body)
    })
    .await
    .unwrap()
}

/// Every `Set-Cookie` of an answer, in order.
#[allow(dead_code)] // Not every test binary reads cookies.
pub fn cookies(response: &Response) -> Vec<&str> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.as_str())
        .collect()
}

/// An S3 store in `moto` whose functions run on moto's Lambda, set up as `pier setup aws`
/// leaves one: the functions' role, and `settings/functions.json` naming it.
#[allow(dead_code)] // Only the Lambda tests use it.
pub async fn lambda_store(moto: &pier_tests::Moto, bucket: &str) -> (DynStore, LambdaSettings) {
    let url = moto.bucket(bucket).await;
    let store = store::open(&StoreUrl::parse(&url).unwrap()).await.unwrap();
    let settings = LambdaSettings {
        role_arn: moto.function_role(&format!("{bucket}-functions")).await,
        function_prefix: "pier-fn-".into(),
        log_group: None,
    };
    write_json(
        store.as_ref(),
        keys::FUNCTIONS_RUNTIME,
        &FunctionsRuntime::Lambda(settings.clone()),
        PutOptions::json(),
    )
    .await
    .unwrap();
    (store, settings)
}

/// Writes `body` to `root/relative`, making its folders.
#[allow(dead_code)] // Not every test binary writes sites.
pub fn write(root: &std::path::Path, relative: &str, body: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

#[allow(dead_code)] // Not every test binary calls functions.
pub async fn get(addr: SocketAddr, host: &str, target: &str) -> Response {
    send(addr, "GET", host, target, &[], b"").await
}

/// The answer's body as JSON; a panic shows what came instead.
#[allow(dead_code)] // Not every test binary calls functions.
pub fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body)
        .unwrap_or_else(|e| panic!("{e}: {} {}", response.status, response.text()))
}

/// A proxy whose functions run in this machine's local runtime, its work folder `work`.
#[allow(dead_code)] // Not every test binary runs functions.
pub async fn serve_local(store: DynReadStore, work: &std::path::Path) -> Serving {
    let config = ProxyConfig {
        target_ttl: std::time::Duration::from_millis(100),
        functions: Some(pier_proxy::functions::local::LocalConfig::new(
            work.to_path_buf(),
        )),
        ..ProxyConfig::default()
    };
    serve(store, config).await
}
