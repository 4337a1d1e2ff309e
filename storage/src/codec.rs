//! Byte layouts of keys and values (see the crate docs for the table).
//!
//! Integers in keys are big-endian so that RocksDB's byte order is numeric order; values use
//! big-endian too, for one rule everywhere. Every decoder checks lengths and returns
//! [`StoreError::Corrupted`] instead of panicking: bytes read from disk are untrusted.

use maat_crypto::Hash32;
use maat_crypto::merkle::NodeId;

use crate::error::{Result, StoreError};
use crate::types::{CommitMeta, TxPos};

/// Format tag stored under `meta/format`; bump on any incompatible layout change.
pub const FORMAT: &str = "maat-storage/1";

/// `meta` key of the genesis hash.
pub const META_GENESIS: &[u8] = b"genesis";
/// `meta` key of the format tag.
pub const META_FORMAT: &[u8] = b"format";
/// `meta` key of the last committed block's summary.
pub const META_HEAD: &[u8] = b"head";
/// `meta` key present once the agent audit and subject indexes cover every stored
/// transaction (written at creation, or by [`crate::Store::rebuild_proof_indexes`]).
pub const META_PROOF_INDEXES: &[u8] = b"proof-indexes/1";
/// `safety` key of the consensus safety record.
pub const SAFETY_KEY: &[u8] = b"safety";

const HEAD_VERSION: u8 = 1;
const BLOCK_VERSION: u8 = 1;

/// A cursor over bytes read from disk; every read is bounds-checked.
pub struct Reader<'a> {
    bytes: &'a [u8],
    what: &'a str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'a str) -> Self {
        Self { bytes, what }
    }

    fn short(&self) -> StoreError {
        StoreError::corrupted(format!("{} is truncated", self.what))
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(self.short());
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        let mut b = [0u8; 2];
        b.copy_from_slice(self.take(2)?);
        Ok(u16::from_be_bytes(b))
    }

    pub fn u32(&mut self) -> Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }

    pub fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    pub fn id(&mut self) -> Result<[u8; 32]> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(b)
    }

    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }

    pub fn finish(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(StoreError::corrupted(format!(
                "{} has {} trailing bytes",
                self.what,
                self.bytes.len()
            )))
        }
    }
}

/// A 32-byte id from a value that must be exactly 32 bytes.
pub fn decode_id(bytes: &[u8], what: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| StoreError::corrupted(format!("{what} has {} bytes, not 32", bytes.len())))
}

// ---------------------------------------------------------------------------------------------
// Keys

/// `blocks`, `qcs` key: the height.
pub fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

pub fn decode_height_key(key: &[u8], what: &str) -> Result<u64> {
    let mut r = Reader::new(key, what);
    let h = r.u64()?;
    r.finish()?;
    Ok(h)
}

/// `txs` key and `tx_ids` value: height || position.
pub fn pos_key(pos: TxPos) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&pos.height.to_be_bytes());
    k[8..].copy_from_slice(&pos.position.to_be_bytes());
    k
}

pub fn decode_pos(bytes: &[u8], what: &str) -> Result<TxPos> {
    let mut r = Reader::new(bytes, what);
    let pos = TxPos {
        height: r.u64()?,
        position: r.u32()?,
    };
    r.finish()?;
    Ok(pos)
}

/// `log` key of a node: level || big-endian index, so each level is one contiguous range.
pub fn node_key(id: NodeId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = id.level;
    k[1..].copy_from_slice(&id.index.to_be_bytes());
    k
}

pub fn decode_node_key(key: &[u8]) -> Result<NodeId> {
    let mut r = Reader::new(key, "log node key");
    let id = NodeId {
        level: r.u8()?,
        index: r.u64()?,
    };
    r.finish()?;
    Ok(id)
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let len = u16::try_from(s.len()).map_err(|_| {
        StoreError::InvalidBatch(format!("index string of {} bytes is too long", s.len()))
    })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Prefix of `idx_deployment` keys for one deployment id: u16 length || id. The length prefix
/// makes the prefix unambiguous (no id's prefix is a prefix of another id's).
pub fn deployment_prefix(deployment_id: &str) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(2 + deployment_id.len() + 12);
    put_str(&mut k, deployment_id)?;
    Ok(k)
}

/// Prefix of `idx_service_env` keys: u16 length || service || u16 length || environment.
pub fn service_env_prefix(service: &str, environment: &str) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(4 + service.len() + environment.len() + 12);
    put_str(&mut k, service)?;
    put_str(&mut k, environment)?;
    Ok(k)
}

/// Prefix of `idx_subject` keys for one subject digest: u16 length || digest.
pub fn subject_prefix(digest: &str) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(2 + digest.len() + 12);
    put_str(&mut k, digest)?;
    Ok(k)
}

/// Prefix of `idx_audit` keys for one agent: u16 length || agent id.
pub fn audit_prefix(agent_id: &str) -> Result<Vec<u8>> {
    let mut k = Vec::with_capacity(2 + agent_id.len() + 8);
    put_str(&mut k, agent_id)?;
    Ok(k)
}

/// An `idx_audit` key: agent prefix || sequence, so one agent's chain is one range in sequence
/// order.
pub fn audit_key(prefix: &[u8], sequence: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 8);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// The sequence of an `idx_audit` key, given what follows the agent prefix.
pub fn decode_audit_sequence(suffix: &[u8]) -> Result<u64> {
    let mut r = Reader::new(suffix, "audit index key");
    let sequence = r.u64()?;
    r.finish()?;
    Ok(sequence)
}

/// An index key: prefix || height || position.
pub fn index_key(prefix: &[u8], pos: TxPos) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + 12);
    k.extend_from_slice(prefix);
    k.extend_from_slice(&pos_key(pos));
    k
}

// ---------------------------------------------------------------------------------------------
// Values

/// `meta/head`: version || height || block id || log size || log root || first height ||
/// tx count.
pub fn encode_head(m: &CommitMeta) -> Vec<u8> {
    let mut v = Vec::with_capacity(97);
    v.push(HEAD_VERSION);
    v.extend_from_slice(&m.height.to_be_bytes());
    v.extend_from_slice(&m.block_id);
    v.extend_from_slice(&m.log_size.to_be_bytes());
    v.extend_from_slice(&m.log_root.0);
    v.extend_from_slice(&m.first_height.to_be_bytes());
    v.extend_from_slice(&m.tx_count.to_be_bytes());
    v
}

pub fn decode_head(bytes: &[u8]) -> Result<CommitMeta> {
    let mut r = Reader::new(bytes, "meta record 'head'");
    let version = r.u8()?;
    if version != HEAD_VERSION {
        return Err(StoreError::corrupted(format!(
            "meta record 'head' has unknown version {version}"
        )));
    }
    let m = CommitMeta {
        height: r.u64()?,
        block_id: r.id()?,
        log_size: r.u64()?,
        log_root: Hash32(r.id()?),
        first_height: r.u64()?,
        tx_count: r.u64()?,
    };
    r.finish()?;
    if m.first_height > m.height {
        return Err(StoreError::corrupted(format!(
            "meta record 'head' has first height {} above height {}",
            m.first_height, m.height
        )));
    }
    Ok(m)
}

/// `txs` value: tx id || log index || tx bytes.
pub fn encode_tx(tx_id: &[u8; 32], log_index: u64, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(40 + bytes.len());
    v.extend_from_slice(tx_id);
    v.extend_from_slice(&log_index.to_be_bytes());
    v.extend_from_slice(bytes);
    v
}

/// A decoded `txs` value.
pub struct TxValue<'a> {
    pub tx_id: [u8; 32],
    pub log_index: u64,
    pub bytes: &'a [u8],
}

pub fn decode_tx(value: &[u8]) -> Result<TxValue<'_>> {
    let mut r = Reader::new(value, "transaction record");
    Ok(TxValue {
        tx_id: r.id()?,
        log_index: r.u64()?,
        bytes: r.rest(),
    })
}

/// Where a transaction's bytes were cut out of the block bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Offset in the skeleton where the transaction's bytes go back.
    pub at: u32,
    /// The transaction's position in the block.
    pub position: u32,
}

/// A block as stored: the block bytes with every transaction found verbatim in them cut out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockValue<'a> {
    pub block_id: [u8; 32],
    /// Length of the full block bytes (checked on reconstruction).
    pub block_len: u32,
    /// Number of transactions committed with the block.
    pub tx_count: u32,
    pub cuts: Vec<Cut>,
    pub skeleton: &'a [u8],
}

/// `blocks` value: version || block id || block length || tx count || cut count ||
/// cuts (at, position)* || skeleton.
pub fn encode_block(
    block_id: &[u8; 32],
    block_len: u32,
    tx_count: u32,
    cuts: &[Cut],
    skeleton: &[u8],
) -> Vec<u8> {
    let mut v = Vec::with_capacity(45 + cuts.len() * 8 + skeleton.len());
    v.push(BLOCK_VERSION);
    v.extend_from_slice(block_id);
    v.extend_from_slice(&block_len.to_be_bytes());
    v.extend_from_slice(&tx_count.to_be_bytes());
    // The cut count fits: it is at most the tx count, a u32.
    v.extend_from_slice(&u32::try_from(cuts.len()).unwrap_or(u32::MAX).to_be_bytes());
    for c in cuts {
        v.extend_from_slice(&c.at.to_be_bytes());
        v.extend_from_slice(&c.position.to_be_bytes());
    }
    v.extend_from_slice(skeleton);
    v
}

pub fn decode_block(value: &[u8]) -> Result<BlockValue<'_>> {
    let mut r = Reader::new(value, "block record");
    let version = r.u8()?;
    if version != BLOCK_VERSION {
        return Err(StoreError::corrupted(format!(
            "block record has unknown version {version}"
        )));
    }
    let block_id = r.id()?;
    let block_len = r.u32()?;
    let tx_count = r.u32()?;
    let n = r.u32()?;
    // Bound the allocation by what the value can hold, not by the stored count.
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    if n > value.len() / 8 {
        return Err(StoreError::corrupted(
            "block record has an impossible cut count",
        ));
    }
    let mut cuts = Vec::with_capacity(n);
    for _ in 0..n {
        cuts.push(Cut {
            at: r.u32()?,
            position: r.u32()?,
        });
    }
    Ok(BlockValue {
        block_id,
        block_len,
        tx_count,
        cuts,
        skeleton: r.rest(),
    })
}

/// Splits `block` into a skeleton and cuts: each transaction whose bytes occur verbatim in the
/// block (after the previous one) is cut out, so its bytes are stored once, in `txs`.
/// Transactions not found verbatim stay in the skeleton (stored twice, still correct).
pub fn cut_block<'t>(
    block: &[u8],
    txs: impl Iterator<Item = (u32, &'t [u8])>,
) -> (Vec<Cut>, Vec<u8>) {
    let mut cuts = Vec::new();
    let mut skeleton = Vec::new();
    let mut cursor = 0usize;
    for (position, tx) in txs {
        if tx.is_empty() {
            continue;
        }
        let Some(off) = memchr::memmem::find(&block[cursor..], tx) else {
            continue;
        };
        let start = cursor + off;
        skeleton.extend_from_slice(&block[cursor..start]);
        // The skeleton is shorter than the block, whose length the caller checked fits u32.
        let at = u32::try_from(skeleton.len()).unwrap_or(u32::MAX);
        cuts.push(Cut { at, position });
        cursor = start + tx.len();
    }
    skeleton.extend_from_slice(&block[cursor..]);
    (cuts, skeleton)
}

/// Puts the transactions back into a skeleton. `tx_bytes(position)` gives a transaction's
/// bytes; a missing one, cuts out of order or a length mismatch mean corruption.
pub fn rebuild_block<'t>(
    height: u64,
    b: &BlockValue<'_>,
    mut tx_bytes: impl FnMut(u32) -> Option<&'t [u8]>,
) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(b.block_len).unwrap_or(0));
    let mut prev = 0usize;
    for c in &b.cuts {
        let at = usize::try_from(c.at).unwrap_or(usize::MAX);
        if at < prev || at > b.skeleton.len() {
            return Err(StoreError::corrupted(format!(
                "block at height {height} has a cut at {at} outside its skeleton"
            )));
        }
        out.extend_from_slice(&b.skeleton[prev..at]);
        let tx = tx_bytes(c.position).ok_or_else(|| {
            StoreError::corrupted(format!(
                "block at height {height} lacks its transaction at position {}",
                c.position
            ))
        })?;
        out.extend_from_slice(tx);
        prev = at;
    }
    out.extend_from_slice(&b.skeleton[prev..]);
    if u32::try_from(out.len()).ok() != Some(b.block_len) {
        return Err(StoreError::corrupted(format!(
            "block at height {height} rebuilds to {} bytes, not {}",
            out.len(),
            b.block_len
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(block: &[u8], txs: &[&[u8]]) -> (usize, Vec<u8>) {
        let (cuts, skeleton) =
            cut_block(block, txs.iter().enumerate().map(|(i, t)| (i as u32, *t)));
        let len = u32::try_from(block.len()).unwrap();
        let enc = encode_block(&[7; 32], len, txs.len() as u32, &cuts, &skeleton);
        let dec = decode_block(&enc).unwrap();
        let rebuilt = rebuild_block(1, &dec, |p| txs.get(p as usize).copied()).unwrap();
        (cuts.len(), rebuilt)
    }

    #[test]
    fn verbatim_transactions_are_cut_and_restored() {
        let block = b"HDR[aaa][bbbb][c]TRAILER";
        let (n, rebuilt) = roundtrip(block, &[b"[aaa]", b"[bbbb]", b"[c]"]);
        assert_eq!(n, 3);
        assert_eq!(rebuilt, block);
    }

    #[test]
    fn transactions_not_in_the_block_stay_in_the_skeleton() {
        let block = b"HDR[aaa]xx[c]";
        // The second is absent, the third repeats the first's bytes after it: still exact.
        let (n, rebuilt) = roundtrip(block, &[b"[aaa]", b"[zzz]", b"[c]", b""]);
        assert_eq!(n, 2);
        assert_eq!(rebuilt, block);
    }

    #[test]
    fn out_of_order_transactions_are_still_exact() {
        let block = b"[b][a]";
        let (n, rebuilt) = roundtrip(block, &[b"[a]", b"[b]"]);
        assert_eq!(n, 1);
        assert_eq!(rebuilt, block);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_decoder() {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let len = rng.gen_range(0..160);
            let mut v: Vec<u8> = (0..len).map(|_| rng.r#gen()).collect();
            if rng.gen_bool(0.5) && !v.is_empty() {
                v[0] = BLOCK_VERSION; // get past the version check more often
            }
            if let Ok(b) = decode_block(&v) {
                let tx = [0u8; 3];
                let _ = rebuild_block(0, &b, |p| (p % 2 == 0).then_some(&tx[..]));
            }
            let _ = decode_head(&v);
            let _ = decode_tx(&v);
            let _ = decode_pos(&v, "x");
            let _ = decode_node_key(&v);
            let _ = decode_height_key(&v, "x");
            let _ = decode_audit_sequence(&v);
            let _ = decode_id(&v, "x");
        }
    }

    #[test]
    fn corrupt_block_records_are_errors_not_panics() {
        assert!(decode_block(&[]).is_err());
        assert!(decode_block(&[1; 40]).is_err());
        let mut v = encode_block(&[0; 32], 3, 1, &[Cut { at: 9, position: 0 }], b"abc");
        assert!(rebuild_block(0, &decode_block(&v).unwrap(), |_| Some(b"x")).is_err());
        v[0] = 9;
        assert!(decode_block(&v).is_err());
        assert!(decode_head(&[1; 10]).is_err());
        assert!(decode_pos(&[0; 11], "x").is_err());
    }
}

/// `finality` value: u32 header length, header bytes, QC bytes.
pub fn encode_finality(child_header: &[u8], child_qc: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(child_header.len())
        .map_err(|_| StoreError::InvalidBatch("child header larger than 4 GiB".into()))?;
    let mut v = Vec::with_capacity(4 + child_header.len() + child_qc.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(child_header);
    v.extend_from_slice(child_qc);
    Ok(v)
}

pub fn decode_finality(value: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut r = Reader::new(value, "finality record");
    let len = r.u32()? as usize;
    let header = r.take(len)?.to_vec();
    Ok((header, r.rest().to_vec()))
}
