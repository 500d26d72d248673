//! Where the local runtime's Node processes listen: a Unix socket each, in one private folder
//! per runtime (mode 0700, removed with the runtime), so only this user's processes can reach
//! a function around the proxy, and a request skips loopback TCP's work in both processes.
//! A platform without Unix sockets, or a temporary folder whose path would not fit a socket
//! address (108 bytes on Linux, 104 on macOS), gets loopback TCP instead.
//!
//! [`Connector`] is the HTTP client's connector: a request's host is the socket's name in the
//! folder (`http://s12/api/hello`), so the client keeps a pool of connections per process.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;

/// The longest socket path used: under both Linux's and macOS's limits, with their NUL.
const LONGEST_PATH: usize = 100;

/// Where one process listens.
#[derive(Debug, Clone)]
pub enum Listen {
    /// Loopback TCP, on the port the process picked (it prints it when ready).
    Tcp(u16),
    /// A Unix socket in the runtime's folder; the name is also the requests' host.
    Socket { name: String, path: PathBuf },
}

/// The runtime's socket folder, made on first use.
#[derive(Clone)]
pub struct Sockets {
    parent: Arc<Path>,
    folder: Arc<OnceLock<Option<tempfile::TempDir>>>,
    next: Arc<AtomicU64>,
}

impl Sockets {
    /// Sockets in a new folder inside `parent`.
    pub fn in_folder(parent: PathBuf) -> Sockets {
        Sockets {
            parent: parent.into(),
            folder: Arc::default(),
            next: Arc::default(),
        }
    }

    /// A fresh socket for a process to listen on, or `None` where it must use TCP.
    pub fn next(&self) -> Option<Listen> {
        // `<parent>/pier-fn-XXXXXX/s<n>.sock`: a parent too deep gets no folder at all.
        let deepest = self.parent.as_os_str().len() + "/pier-fn-XXXXXX/s.sock".len() + 20;
        if !cfg!(unix) || deepest > LONGEST_PATH {
            return None;
        }
        let folder = self.folder()?;
        let name = format!("s{}", self.next.fetch_add(1, Ordering::Relaxed));
        let path = folder.join(format!("{name}.sock"));
        Some(Listen::Socket { name, path })
    }

    fn folder(&self) -> Option<&Path> {
        self.folder
            .get_or_init(|| match private_folder().tempdir_in(&self.parent) {
                Ok(folder) => Some(folder),
                Err(error) => {
                    tracing::warn!(%error, "no folder for the functions' sockets; they listen on loopback TCP");
                    None
                }
            })
            .as_ref()
            .map(|folder| folder.path())
    }
}

/// `pier-fn-*`, made for the user alone (the umask would leave it open to everyone's reading).
fn private_folder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("pier-fn-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    builder
}

/// Connects to the socket a request's host names.
#[derive(Clone)]
pub struct Connector {
    sockets: Sockets,
}

impl Connector {
    pub fn new(sockets: Sockets) -> Connector {
        Connector { sockets }
    }
}

#[cfg(unix)]
type Stream = tokio::net::UnixStream;
#[cfg(not(unix))]
type Stream = tokio::net::TcpStream;

impl tower_service::Service<http::Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<TokioIo<Stream>>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let path = self
            .sockets
            .folder()
            .zip(uri.host())
            .map(|(folder, name)| folder.join(format!("{name}.sock")));
        Box::pin(async move {
            let path = path.ok_or_else(|| std::io::Error::other("no such function socket"))?;
            connect(&path).await.map(TokioIo::new)
        })
    }
}

#[cfg(unix)]
async fn connect(path: &Path) -> std::io::Result<Stream> {
    tokio::net::UnixStream::connect(path).await
}

#[cfg(not(unix))]
async fn connect(_: &Path) -> std::io::Result<Stream> {
    Err(std::io::Error::other("Unix sockets are not used here"))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn each_process_gets_its_own_socket_in_a_folder_only_the_user_can_enter() {
        let parent = tempfile::tempdir().unwrap();
        let sockets = Sockets::in_folder(parent.path().to_path_buf());
        let (Some(Listen::Socket { name: a, path }), Some(Listen::Socket { name: b, .. })) =
            (sockets.next(), sockets.next())
        else {
            panic!("a short temporary folder gets sockets");
        };
        assert_ne!(a, b);
        let folder = path.parent().unwrap();
        assert_eq!(folder.parent().unwrap(), parent.path());
        let mode = std::fs::metadata(folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "the socket folder is the user's alone");
        drop(sockets);
        assert!(!folder.exists(), "the folder goes with the runtime");
    }

    #[test]
    fn a_folder_too_deep_for_a_socket_address_means_tcp() {
        let parent = tempfile::tempdir().unwrap();
        let deep = parent.path().join("d".repeat(120));
        std::fs::create_dir(&deep).unwrap();
        assert!(Sockets::in_folder(deep).next().is_none());
    }
}
