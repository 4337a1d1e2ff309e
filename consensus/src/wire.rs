//! What validators send each other through `maat-p2p`, and the block payload layout.
//!
//! Every decoder here is strict (exact length, known tags, bounded counts) and never panics:
//! the p2p fuzz target (`fuzz/fuzz_targets/p2p_messages.rs`) runs them on arbitrary bytes.
//! They live here, with the messages they carry, so that the fuzz target needs no IO crates.
//!
//! | where | bytes |
//! |---|---|
//! | gossip topic `tx` | one canonical `Transaction` (maat-proto) |
//! | gossip topic `proposal` | a consensus `Message::Proposal` (maat-consensus codec) |
//! | request | `0x01 ‖ consensus Message` or `0x02 ‖ block_id[32] ‖ stop_height u64 ‖ max u32` |
//! | response | `0x00` (ack), `0x01 ‖ count u32 ‖ (len u32 ‖ Block)*`, or `0x02 ‖ count u32 ‖ (len u32 ‖ Block ‖ len u32 ‖ Qc)*` |
//! | block payload | `count u32 ‖ (len u32 ‖ Transaction)*` |
//!
//! Integers are little-endian like the consensus codec's.

use std::sync::Arc;

use std::fmt;

use crate::codec::{Decode, DecodeError, Encode};
use crate::types::{Block, BlockId, Height, Message, Qc};

/// Most blocks one fetch response carries (also the most a node asks for).
pub const MAX_FETCH_BLOCKS: u32 = 256;

/// Why bytes from a peer were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than its fields.
    Truncated(&'static str),
    /// An unknown leading tag.
    UnknownTag {
        /// Which message.
        what: &'static str,
        /// The tag.
        tag: u8,
    },
    /// A count or length above its limit or beyond the input.
    OutOfBounds(&'static str),
    /// Bytes left after the message.
    Trailing(&'static str),
    /// A consensus message or block that does not decode.
    Consensus(DecodeError),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated(w) => write!(f, "truncated {w}"),
            WireError::UnknownTag { what, tag } => write!(f, "unknown {what} tag {tag}"),
            WireError::OutOfBounds(w) => write!(f, "{w}: count or length out of bounds"),
            WireError::Trailing(w) => write!(f, "trailing bytes after {w}"),
            WireError::Consensus(e) => write!(f, "consensus encoding: {e:?}"),
        }
    }
}

impl std::error::Error for WireError {}

/// A request to a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetRequest {
    /// A vote, timeout or sync message (answered with an ack).
    Consensus(Message),
    /// `block_id` and its ancestors down to, excluding, `stop_height`, at most `max` of them.
    FetchBlocks {
        /// The highest block wanted.
        block_id: BlockId,
        /// Height the requester already has.
        stop_height: Height,
        /// Most blocks wanted.
        max: u32,
    },
}

/// A response to a [`NetRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetResponse {
    /// Received.
    Ack,
    /// Blocks, highest first (the order does not matter to the consensus core).
    Blocks(Vec<Arc<Block>>),
    /// Committed blocks from the requester's height upward, each with the QC that certifies
    /// it: the answer to a node too far behind for a backward fetch.
    Chain(Vec<(Arc<Block>, Qc)>),
}

struct Cursor<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.buf.len() {
            return Err(WireError::Truncated(self.what));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }

    /// A count of items each at least `min_len` bytes long, bounded by `max` and the input.
    fn count(&mut self, max: u32, min_len: usize) -> Result<usize, WireError> {
        let n = self.u32()?;
        if n > max || (n as usize).saturating_mul(min_len) > self.buf.len() {
            return Err(WireError::OutOfBounds(self.what));
        }
        Ok(n as usize)
    }

    fn finish(&self) -> Result<(), WireError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(WireError::Trailing(self.what))
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes());
}

impl NetRequest {
    /// Canonical bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            NetRequest::Consensus(m) => {
                out.push(1);
                m.encode_to(&mut out);
            }
            NetRequest::FetchBlocks {
                block_id,
                stop_height,
                max,
            } => {
                out.push(2);
                out.extend_from_slice(&block_id.0);
                out.extend_from_slice(&stop_height.to_le_bytes());
                out.extend_from_slice(&max.to_le_bytes());
            }
        }
        out
    }

    /// Strict decoding.
    ///
    /// # Errors
    /// [`WireError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut c = Cursor {
            buf: bytes,
            what: "request",
        };
        match c.u8()? {
            1 => Message::decode(c.buf)
                .map(NetRequest::Consensus)
                .map_err(WireError::Consensus),
            2 => {
                let mut id = [0u8; 32];
                id.copy_from_slice(c.take(32)?);
                let stop_height = c.u64()?;
                let max = c.u32()?;
                c.finish()?;
                Ok(NetRequest::FetchBlocks {
                    block_id: BlockId(id),
                    stop_height,
                    max,
                })
            }
            tag => Err(WireError::UnknownTag {
                what: "request",
                tag,
            }),
        }
    }
}

impl NetResponse {
    /// Canonical bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        match self {
            NetResponse::Ack => vec![0],
            NetResponse::Blocks(blocks) => {
                let mut out = vec![1];
                put_u32(&mut out, blocks.len());
                for b in blocks {
                    let bytes = b.encode();
                    put_u32(&mut out, bytes.len());
                    out.extend_from_slice(&bytes);
                }
                out
            }
            NetResponse::Chain(items) => {
                let mut out = vec![2];
                put_u32(&mut out, items.len());
                for (b, qc) in items {
                    for bytes in [b.encode(), qc.encode()] {
                        put_u32(&mut out, bytes.len());
                        out.extend_from_slice(&bytes);
                    }
                }
                out
            }
        }
    }

    /// Strict decoding; at most [`MAX_FETCH_BLOCKS`] blocks.
    ///
    /// # Errors
    /// [`WireError`].
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut c = Cursor {
            buf: bytes,
            what: "response",
        };
        match c.u8()? {
            0 => {
                c.finish()?;
                Ok(NetResponse::Ack)
            }
            1 => {
                let n = c.count(MAX_FETCH_BLOCKS, 4)?;
                let mut blocks = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = c.u32()? as usize;
                    let block = Block::decode(c.take(len)?).map_err(WireError::Consensus)?;
                    blocks.push(Arc::new(block));
                }
                c.finish()?;
                Ok(NetResponse::Blocks(blocks))
            }
            2 => {
                let n = c.count(MAX_FETCH_BLOCKS, 8)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    let len = c.u32()? as usize;
                    let block = Block::decode(c.take(len)?).map_err(WireError::Consensus)?;
                    let len = c.u32()? as usize;
                    let qc = Qc::decode(c.take(len)?).map_err(WireError::Consensus)?;
                    items.push((Arc::new(block), qc));
                }
                c.finish()?;
                Ok(NetResponse::Chain(items))
            }
            tag => Err(WireError::UnknownTag {
                what: "response",
                tag,
            }),
        }
    }
}

/// A block payload: the transactions in block order.
#[must_use]
pub fn encode_payload<T: AsRef<[u8]>>(txs: &[T]) -> Vec<u8> {
    let total: usize = txs.iter().map(|t| t.as_ref().len() + 4).sum();
    let mut out = Vec::with_capacity(4 + total);
    put_u32(&mut out, txs.len());
    for t in txs {
        put_u32(&mut out, t.as_ref().len());
        out.extend_from_slice(t.as_ref());
    }
    out
}

/// The transactions of a block payload (the empty payload is the empty block). `max_txs`
/// bounds the count before anything is allocated.
///
/// # Errors
/// [`WireError`].
pub fn decode_payload(payload: &[u8], max_txs: u32) -> Result<Vec<&[u8]>, WireError> {
    if payload.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = Cursor {
        buf: payload,
        what: "payload",
    };
    let n = c.count(max_txs, 4)?;
    let mut txs = Vec::with_capacity(n);
    for _ in 0..n {
        let len = c.u32()? as usize;
        txs.push(c.take(len)?);
    }
    c.finish()?;
    Ok(txs)
}

/// Decodes a gossiped proposal (only `Message::Proposal` is allowed on that topic).
///
/// # Errors
/// [`WireError`].
pub fn decode_proposal_gossip(bytes: &[u8]) -> Result<Message, WireError> {
    match Message::decode(bytes).map_err(WireError::Consensus)? {
        m @ Message::Proposal(_) => Ok(m),
        _ => Err(WireError::UnknownTag {
            what: "proposal gossip",
            tag: bytes.first().copied().unwrap_or(0),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Qc, SigBytes, SyncInfo, ValidatorIndex, Vote};

    fn block(h: u64) -> Block {
        Block {
            height: h,
            round: h,
            parent: BlockId([h as u8; 32]),
            timestamp_ms: 1000 + h,
            proposer: ValidatorIndex(1),
            payload: encode_payload(&[b"a".to_vec(), b"bc".to_vec()]),
            app_header: vec![9; 3],
            justify: Qc::genesis(BlockId([7; 32])),
            tc: None,
        }
    }

    #[test]
    fn round_trips() {
        let reqs = [
            NetRequest::Consensus(Message::Vote(Vote {
                block_id: BlockId([3; 32]),
                round: 4,
                height: 2,
                voter: ValidatorIndex(2),
                signature: SigBytes(vec![1, 2, 3]),
            })),
            NetRequest::FetchBlocks {
                block_id: BlockId([5; 32]),
                stop_height: 9,
                max: 100,
            },
        ];
        for r in reqs {
            assert_eq!(NetRequest::decode(&r.encode()).unwrap(), r);
        }
        for r in [
            NetResponse::Ack,
            NetResponse::Blocks(vec![Arc::new(block(1)), Arc::new(block(2))]),
            NetResponse::Chain(vec![(Arc::new(block(3)), Qc::genesis(BlockId([4; 32])))]),
        ] {
            assert_eq!(NetResponse::decode(&r.encode()).unwrap(), r);
        }
        let txs = vec![b"x".to_vec(), Vec::new(), b"yz".to_vec()];
        let p = encode_payload(&txs);
        let back: Vec<Vec<u8>> = decode_payload(&p, 10)
            .unwrap()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        assert_eq!(back, txs);
        assert!(decode_payload(&[], 10).unwrap().is_empty());
    }

    #[test]
    fn strictness() {
        let mut ack = NetResponse::Ack.encode();
        ack.push(0);
        assert_eq!(
            NetResponse::decode(&ack),
            Err(WireError::Trailing("response"))
        );
        assert!(matches!(
            NetRequest::decode(&[9]),
            Err(WireError::UnknownTag { .. })
        ));
        assert_eq!(
            NetRequest::decode(&[]),
            Err(WireError::Truncated("request"))
        );
        // A count far beyond the input is refused before allocating.
        let huge = [1u8, 0xff, 0xff, 0x00, 0x00];
        assert_eq!(
            NetResponse::decode(&huge),
            Err(WireError::OutOfBounds("response"))
        );
        let p = encode_payload(&[b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(
            decode_payload(&p, 2),
            Err(WireError::OutOfBounds("payload"))
        );
        // A vote is not allowed on the proposal topic.
        let vote = NetRequest::Consensus(Message::Sync(SyncInfo {
            high_qc: Qc::genesis(BlockId::ZERO),
            high_tc: None,
        }))
        .encode();
        assert!(decode_proposal_gossip(&vote[1..]).is_err());
    }

    #[test]
    fn decoders_never_panic_on_noise_or_edits() {
        // Pseudo-random inputs and single-byte edits of valid encodings (the fuzz target goes
        // much further; this keeps a floor in `cargo test`).
        let valid = [
            NetResponse::Blocks(vec![Arc::new(block(1))]).encode(),
            NetResponse::Chain(vec![(Arc::new(block(2)), Qc::genesis(BlockId([1; 32])))]).encode(),
            NetRequest::FetchBlocks {
                block_id: BlockId([1; 32]),
                stop_height: 2,
                max: 3,
            }
            .encode(),
            encode_payload(&[b"abc".to_vec()]),
        ];
        let mut xof = blake3::Hasher::new().update(b"wire noise").finalize_xof();
        for i in 0..5_000usize {
            let mut buf = [0u8; 64];
            xof.fill(&mut buf);
            let bytes: Vec<u8> = if i % 2 == 0 {
                buf[..(buf[0] as usize % 64)].to_vec()
            } else {
                let mut v = valid[i % valid.len()].clone();
                let at = usize::from(u16::from_le_bytes([buf[0], buf[1]])) % v.len();
                v[at] = buf[2];
                v.truncate(v.len() - (buf[3] as usize % 3).min(v.len()));
                v
            };
            let _ = NetRequest::decode(&bytes);
            let _ = NetResponse::decode(&bytes);
            let _ = decode_payload(&bytes, 10_000);
            let _ = decode_proposal_gossip(&bytes);
        }
    }
}
