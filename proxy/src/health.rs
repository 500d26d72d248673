//! `pier-proxy health`: the container's health check. The images that run the proxy have no
//! shell and no curl (distroless), so ECS's `healthCheck` and Docker's `HEALTHCHECK` run the
//! proxy binary itself, which asks its own running server `GET /health` over loopback and
//! exits 0 only on `200 OK` (RFC 9110 §15.3.1), within a time limit so a hung server counts as
//! unhealthy instead of hanging the check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;

/// Why a health check failed, in words an operator reads in `docker inspect` or the ECS
/// console.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("`{0}` is not an address (host:port)")]
    BadAddress(String),
    #[error("nothing answered at {address}: {detail}")]
    Unreachable { address: SocketAddr, detail: String },
    #[error("{address} answered {status} to GET /health")]
    Unhealthy {
        address: SocketAddr,
        status: hyper::StatusCode,
    },
    #[error("{address} did not answer GET /health within {} s", limit.as_secs())]
    TimedOut {
        address: SocketAddr,
        limit: Duration,
    },
}

/// The address to probe for a listener bound to `listen`: a wildcard bind is reached on
/// loopback, from inside the same container.
pub fn probe_address(listen: &str) -> Result<SocketAddr, HealthError> {
    let address: SocketAddr = listen
        .parse()
        .map_err(|_| HealthError::BadAddress(listen.to_string()))?;
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    Ok(SocketAddr::new(ip, address.port()))
}

/// Asks the server at `address` for `/health`; `Ok` only for a 200.
pub async fn check(address: SocketAddr, limit: Duration) -> Result<(), HealthError> {
    match tokio::time::timeout(limit, ask(address)).await {
        Ok(result) => result,
        Err(_) => Err(HealthError::TimedOut { address, limit }),
    }
}

async fn ask(address: SocketAddr) -> Result<(), HealthError> {
    let unreachable = |detail: String| HealthError::Unreachable { address, detail };
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::spawn(connection);
    let request = Request::get("/health")
        .header(hyper::header::HOST, "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .expect("a static request is well-formed");
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    match response.status() {
        hyper::StatusCode::OK => Ok(()),
        status => Err(HealthError::Unhealthy { address, status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        assert_eq!(
            probe_address("0.0.0.0:9090").unwrap(),
            "127.0.0.1:9090".parse().unwrap()
        );
        assert_eq!(
            probe_address("[::]:9090").unwrap(),
            "[::1]:9090".parse().unwrap()
        );
        assert_eq!(
            probe_address("10.0.0.7:8080").unwrap(),
            "10.0.0.7:8080".parse().unwrap()
        );
        assert!(matches!(
            probe_address("localhost"),
            Err(HealthError::BadAddress(_))
        ));
    }

    #[tokio::test]
    async fn a_closed_port_is_unhealthy_with_a_reason() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let error = check(address, Duration::from_secs(2)).await.unwrap_err();
        assert!(matches!(error, HealthError::Unreachable { .. }), "{error}");
    }
}
