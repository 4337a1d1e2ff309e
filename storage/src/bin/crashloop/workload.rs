//! The deterministic workload of the crash test: block `h` is a pure function of `h` and the
//! log size before it, so the test can check every committed block without a record of what
//! the killed process wrote. Shared by the `maat-storage-crashloop` binary and
//! `tests/crash.rs` (through `#[path]`).

#![allow(dead_code)]

use std::collections::BTreeMap;

use maat_crypto::merkle::leaf_hash;
use maat_crypto::sha256;
use maat_storage::{CommitBatch, CommittedTx};

/// The genesis hash the crash test's database is created with.
pub const GENESIS: [u8; 32] = [0x6d; 32];

/// splitmix64: a tiny deterministic generator (no dependency in the binary).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            let b = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
    }
}

/// Number of transactions in block `height` (0 to 4: empty blocks too).
pub fn tx_count(height: u64) -> u64 {
    height % 5
}

/// The log size after blocks `0..height`.
pub fn log_size_before(height: u64) -> u64 {
    (0..height).map(tx_count).sum()
}

/// The id of the pending record the writer stores before committing `height`.
pub fn pending_id(height: u64) -> [u8; 32] {
    sha256(format!("pending {height}").as_bytes())
}

/// The block committed at `height`, whose first log index is `log_start`.
pub fn block(height: u64, log_start: u64) -> CommitBatch {
    let mut rng = Rng::new(height.wrapping_mul(0x1234_5678_9abc_def1) ^ 0x55);
    let mut block_bytes = b"BLOCK".to_vec();
    block_bytes.extend_from_slice(&height.to_be_bytes());
    let mut header = vec![0u8; 64 + rng.below(200) as usize];
    rng.fill(&mut header);
    block_bytes.extend_from_slice(&header);
    let mut txs = Vec::new();
    let mut log_leaves = Vec::new();
    for position in 0..tx_count(height) {
        // A few hundred to a few thousand bytes, so memtables fill and flush.
        let mut tx_bytes = vec![0u8; 100 + rng.below(3000) as usize];
        rng.fill(&mut tx_bytes);
        block_bytes.extend_from_slice(&(tx_bytes.len() as u32).to_be_bytes());
        block_bytes.extend_from_slice(&tx_bytes);
        let certificate = position % 2 == 0;
        txs.push(CommittedTx {
            tx_id: sha256(&tx_bytes),
            log_index: log_start + position,
            deployment_id: certificate.then(|| format!("dep-{height}-{position}")),
            service_env: certificate.then(|| {
                (
                    format!("svc{}", position % 3),
                    if height.is_multiple_of(2) {
                        "prod"
                    } else {
                        "staging"
                    }
                    .to_owned(),
                )
            }),
            audit_record: None,
            subjects: Vec::new(),
            tx_bytes,
        });
        log_leaves.push(leaf_hash(&txs[txs.len() - 1].tx_bytes));
    }
    block_bytes.extend_from_slice(b"END");
    let mut qc = format!("QC{height}").into_bytes();
    qc.resize(200, 0xa5);
    let mut state_changes = vec![(
        format!("acct/{}", height % 7).into_bytes(),
        Some(height.to_be_bytes().to_vec()),
    )];
    if height.is_multiple_of(3) {
        state_changes.push((format!("acct/{}", (height + 3) % 7).into_bytes(), None));
    }
    CommitBatch {
        height,
        block_id: sha256(&block_bytes),
        block_bytes,
        commit_qc_bytes: qc,
        txs,
        state_changes,
        log_leaves,
        remove_pending: vec![pending_id(height)],
        // Every other block carries the record that commits it directly.
        finality: height
            .is_multiple_of(2)
            .then(|| maat_storage::FinalityRecord {
                child_header: format!("child header {height}").into_bytes(),
                child_qc: format!("child qc {height}").into_bytes(),
            }),
    }
}

/// The state after committing blocks `0..=head`.
pub fn state_after(head: u64) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut state = BTreeMap::new();
    for h in 0..=head {
        for (k, v) in block(h, 0).state_changes {
            match v {
                Some(v) => state.insert(k, v),
                None => state.remove(&k),
            };
        }
    }
    state
}
