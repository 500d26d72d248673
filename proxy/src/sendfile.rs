//! The connection's write path: a body that is a mapped blob (`mapped.rs`) goes to the socket
//! with `sendfile(2)`, so the kernel sends it from the page cache and the proxy never copies
//! it, as nginx's `sendfile on` does; everything else is written from memory as before.
//!
//! hyper writes a response as a list of buffers, head first, with `writev`. This stream looks
//! at that list: buffers before a mapped body go out with `sendmsg(MSG_MORE)`, so the head
//! waits to share the body's first packet (what nginx gets from `TCP_CORK`), then the body
//! goes out with `sendfile` from the offset its slice starts at (a range is a slice).
//! Bodies under `SENDFILE_MIN` are written as memory: one `writev` of head and body costs
//! less than two calls when there is little to copy. So are files over `SENDFILE_MAX`
//! (whole or any part of them), which is a measurement, not a principle: on this kernel's loopback (6.18), `sendfile`
//! of 1 MB and more served 40–45% fewer requests a second than copying the same mapped
//! bytes (nginx, which always uses `sendfile`, fell the same way), while from 16 KB to
//! 512 KB it served 8–18% more with less CPU (`tests/bench/proxy.sh`).
//!
//! Linux only; elsewhere a connection is the plain TCP stream.

use std::sync::LazyLock;

use prometheus_client::metrics::counter::Counter;
use tokio::net::TcpStream;

#[cfg(target_os = "linux")]
pub use linux::SendfileStream as Connection;

#[cfg(not(target_os = "linux"))]
pub type Connection = TcpStream;

/// A body this big or bigger, of a file of at most `SENDFILE_MAX`, is sent with `sendfile`; a
/// smaller one is copied with the head.
pub const SENDFILE_MIN: usize = 16 * 1024;

/// Bodies of a bigger file are copied from its mapping; see the module doc.
pub const SENDFILE_MAX: usize = 512 * 1024;

/// Body bytes the kernel sent straight from files, for every proxy in this process (the
/// write path has no handle on one proxy's metrics); `metrics.rs` reports it.
pub static SENT_FROM_FILE: LazyLock<Counter> = LazyLock::new(Counter::default);

pub fn connection(stream: TcpStream) -> Connection {
    #[cfg(target_os = "linux")]
    return linux::SendfileStream { inner: stream };
    #[cfg(not(target_os = "linux"))]
    return stream;
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{self, IoSlice};
    use std::os::fd::BorrowedFd;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};

    use rustix::net::{SendAncillaryBuffer, SendFlags};
    use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
    use tokio::net::TcpStream;

    use super::{SENDFILE_MAX, SENDFILE_MIN};
    use crate::mapped;

    pub struct SendfileStream {
        pub(super) inner: TcpStream,
    }

    impl SendfileStream {
        /// Runs a non-blocking write once the socket is writable, again whenever the kernel
        /// says it would block.
        fn poll_write_with(
            &self,
            cx: &mut Context<'_>,
            mut write: impl FnMut() -> io::Result<usize>,
        ) -> Poll<io::Result<usize>> {
            loop {
                ready!(self.inner.poll_write_ready(cx))?;
                match self.inner.try_io(Interest::WRITABLE, &mut write) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    result => return Poll::Ready(result),
                }
            }
        }

        fn poll_sendfile(
            &self,
            cx: &mut Context<'_>,
            file: BorrowedFd<'_>,
            offset: u64,
            len: usize,
        ) -> Poll<io::Result<usize>> {
            let sent = ready!(self.poll_write_with(cx, || {
                // At an offset: the file's own position never moves, so every connection can
                // share one open file.
                let mut at = offset;
                Ok(rustix::fs::sendfile(&self.inner, file, Some(&mut at), len)?)
            }))?;
            super::SENT_FROM_FILE.inc_by(sent as u64);
            Poll::Ready(Ok(sent))
        }

        /// Writes buffers that a mapped body follows, telling the kernel more is coming.
        fn poll_send_more(
            &self,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_with(cx, || {
                let flags = SendFlags::MORE | SendFlags::NOSIGNAL;
                let mut control = SendAncillaryBuffer::default();
                Ok(rustix::net::sendmsg(
                    &self.inner,
                    bufs,
                    &mut control,
                    flags,
                )?)
            })
        }
    }

    fn sent_from_file<'a>(buf: &'a IoSlice<'_>) -> Option<(BorrowedFd<'a>, u64)> {
        if buf.len() < SENDFILE_MIN {
            return None;
        }
        // By the file's size, not the slice's: what is left of a big body after partial
        // writes is copied like the rest of it.
        let part = mapped::file_of(buf).filter(|part| part.file_len <= SENDFILE_MAX)?;
        Some((part.file, part.offset))
    }

    impl AsyncRead for SendfileStream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for SendfileStream {
        fn poll_write(
            self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let first_mapped = bufs
                .iter()
                .enumerate()
                .find_map(|(index, buf)| Some((index, sent_from_file(buf)?)));
            match first_mapped {
                None => Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
                Some((0, (file, offset))) => self.poll_sendfile(cx, file, offset, bufs[0].len()),
                Some((index, _)) => self.poll_send_more(cx, &bufs[..index]),
            }
        }

        fn is_write_vectored(&self) -> bool {
            // hyper queues a body's buffers as they are (no copy into its own buffer) only
            // for a vectored writer, which is what lets a mapped body reach this stream.
            true
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }
}
