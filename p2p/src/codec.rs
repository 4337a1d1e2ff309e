//! Request-response framing: a `u32` big-endian length prefix, then that many bytes.
//!
//! The length is checked against the configured maximum *before* any buffer is allocated, so a
//! peer claiming a 4 GiB frame costs us four bytes of reading, not four gigabytes of memory.

use std::{fmt, io};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{StreamProtocol, request_response};

/// A frame whose length prefix (or payload, when writing) exceeds the configured maximum.
///
/// Carried inside an [`io::Error`] of kind [`io::ErrorKind::InvalidData`] so the swarm task can
/// recognise it in request-response failures and report the peer as `Oversized`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooLarge {
    /// Length claimed by the prefix (or of the payload being written).
    pub len: u64,
    /// Configured maximum.
    pub max: usize,
}

impl fmt::Display for FrameTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame of {} bytes exceeds the maximum of {} bytes",
            self.len, self.max
        )
    }
}

impl std::error::Error for FrameTooLarge {}

/// Whether `err` is (or wraps) a [`FrameTooLarge`].
pub(crate) fn is_frame_too_large(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<FrameTooLarge>().is_some())
}

fn too_large(len: u64, max: usize) -> io::Error {
    FrameTooLarge { len, max }.into()
}

/// Reads one length-prefixed frame of at most `max` bytes.
///
/// # Errors
/// [`FrameTooLarge`] (as `InvalidData`) if the prefix claims more than `max` bytes, without
/// reading or allocating the body; any I/O error of `io` (e.g. `UnexpectedEof` on a short body).
pub async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let len = read_len(io, max).await?.map_err(io::Error::from)?;
    read_body(io, len).await
}

/// Reads the length prefix: `Ok(Err(_))` when it is above `max` (nothing more is read).
async fn read_len<T>(io: &mut T, max: usize) -> io::Result<Result<usize, FrameTooLarge>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    io.read_exact(&mut prefix).await?;
    let len = u32::from_be_bytes(prefix);
    Ok(usize::try_from(len)
        .ok()
        .filter(|len| *len <= max)
        .ok_or(FrameTooLarge {
            len: u64::from(len),
            max,
        }))
}

async fn read_body<T>(io: &mut T, len: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

impl From<FrameTooLarge> for io::Error {
    fn from(e: FrameTooLarge) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Writes one length-prefixed frame.
///
/// # Errors
/// [`FrameTooLarge`] (as `InvalidData`) if `data` is longer than `max` (or than `u32::MAX`);
/// any I/O error of `io`.
pub async fn write_frame<T>(io: &mut T, data: &[u8], max: usize) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let len = u32::try_from(data.len())
        .ok()
        .filter(|_| data.len() <= max)
        .ok_or_else(|| too_large(data.len() as u64, max))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(data).await?;
    io.flush().await
}

/// A request as the codec reads it.
///
/// An oversized inbound request is not an I/O error: libp2p's request-response drops read errors
/// of inbound streams without telling which peer sent them, and we need the peer to report it.
#[derive(Debug)]
pub(crate) enum RequestFrame {
    Data(Vec<u8>),
    /// The prefix claimed more than the maximum; the body was neither read nor allocated.
    Oversized(FrameTooLarge),
}

/// The request-response codec: requests and responses are both opaque length-prefixed frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameCodec {
    pub(crate) max: usize,
}

impl request_response::Codec for FrameCodec {
    type Protocol = StreamProtocol;
    type Request = RequestFrame;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<RequestFrame>
    where
        T: AsyncRead + Unpin + Send,
    {
        match read_len(io, self.max).await? {
            Ok(len) => Ok(RequestFrame::Data(read_body(io, len).await?)),
            Err(too_large) => Ok(RequestFrame::Oversized(too_large)),
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: RequestFrame,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            RequestFrame::Data(data) => write_frame(io, &data, self.max).await,
            RequestFrame::Oversized(too_large) => Err(too_large.into()),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res, self.max).await
    }
}

#[cfg(test)]
mod tests {
    use futures::{executor::block_on, io::Cursor};

    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = Cursor::new(Vec::new());
        block_on(write_frame(&mut buf, b"hello", 16)).unwrap();
        assert_eq!(buf.get_ref().as_slice(), b"\0\0\0\x05hello");
        buf.set_position(0);
        assert_eq!(block_on(read_frame(&mut buf, 16)).unwrap(), b"hello");
    }

    #[test]
    fn empty_frame_is_valid() {
        let mut buf = Cursor::new(vec![0, 0, 0, 0]);
        assert!(block_on(read_frame(&mut buf, 16)).unwrap().is_empty());
    }

    #[test]
    fn oversized_prefix_refused_before_reading_body() {
        // Prefix claims 4 GiB and no body follows: a reader that allocated or read the body
        // would fail with UnexpectedEof (or abort on allocation), not with FrameTooLarge.
        let mut buf = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let err = block_on(read_frame(&mut buf, 1024)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(is_frame_too_large(&err));
        assert_eq!(buf.position(), 4, "only the prefix was consumed");
    }

    #[test]
    fn oversized_write_refused() {
        let mut buf = Cursor::new(Vec::new());
        let err = block_on(write_frame(&mut buf, &[0u8; 17], 16)).unwrap_err();
        assert!(is_frame_too_large(&err));
        assert!(buf.get_ref().is_empty(), "nothing written");
    }

    #[test]
    fn oversized_request_is_reported_not_read() {
        use libp2p::request_response::Codec as _;
        let mut codec = FrameCodec { max: 1024 };
        let protocol = StreamProtocol::new("/test");
        let mut buf = Cursor::new(u32::MAX.to_be_bytes().to_vec());
        let frame = block_on(codec.read_request(&protocol, &mut buf)).unwrap();
        assert!(matches!(
            frame,
            RequestFrame::Oversized(FrameTooLarge {
                len: 0xffff_ffff,
                max: 1024
            })
        ));
        assert_eq!(buf.position(), 4);
    }

    #[test]
    fn short_body_is_an_error() {
        let mut buf = Cursor::new(b"\0\0\0\x05hel".to_vec());
        let err = block_on(read_frame(&mut buf, 16)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
