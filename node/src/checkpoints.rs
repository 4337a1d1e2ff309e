//! Checkpoint cosigning: after each commit that grows the transparency log, a validator signs the
//! C2SP checkpoint of the new log (`maat_crypto::checkpoint`) and gossips its signed note; every
//! node collects the cosignatures per `(tree size, root)` and keeps a checkpoint once validators
//! holding 2f+1 of the voting power signed it (`docs/CHECKPOINTS.md`).

use std::collections::BTreeMap;
use std::sync::Arc;

use maat_crypto::checkpoint::{
    Checkpoint, CheckpointError, NoteSignature, NoteVerifierKey, SignedNote, cosign,
};
use maat_crypto::sig::KeyPair;
use maat_ledger::Genesis;
use maat_ledger::finality::checkpoint_keys;

/// Most `(size, root)` entries collected at once; the smallest sizes go first beyond it (a node
/// far behind receives cosignatures for sizes it has not reached yet).
const MAX_PENDING: usize = 1024;

/// Why a gossiped cosignature was refused.
#[derive(Debug, thiserror::Error)]
pub enum CosignatureError {
    /// Not a checkpoint note with exactly one signature line for this chain.
    #[error("malformed cosignature: {0}")]
    Malformed(String),
    /// Signed by a key that is not a validator's cosigning key.
    #[error("cosignature by an unknown key `{0}`")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("cosignature by `{0}` does not verify")]
    BadSignature(String),
}

impl From<CheckpointError> for CosignatureError {
    fn from(e: CheckpointError) -> Self {
        CosignatureError::Malformed(e.to_string())
    }
}

/// What a received cosignature changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// The checkpoint just reached the quorum: `(tree size, cosigned note text)`.
    Final(u64, String),
    /// Counted; no quorum yet, or the checkpoint was already final.
    Counted,
    /// This validator's cosignature of this checkpoint was already counted.
    Duplicate,
}

/// The cosignatures collected so far, and this validator's cosigning key.
pub struct CheckpointBook {
    origin: String,
    keys: Vec<(NoteVerifierKey, u64)>,
    quorum: u64,
    me: Option<(usize, Arc<KeyPair>)>,
    pending: BTreeMap<(u64, [u8; 32]), BTreeMap<usize, NoteSignature>>,
    finals: BTreeMap<u64, [u8; 32]>,
}

impl CheckpointBook {
    /// The book for `genesis`'s validators; `me` is this validator's index and key.
    ///
    /// # Errors
    /// A validator id that makes no valid key name.
    pub fn new(
        genesis: &Genesis,
        me: Option<(usize, Arc<KeyPair>)>,
    ) -> Result<Self, CheckpointError> {
        let keys = checkpoint_keys(genesis)?;
        let total: u64 = keys.iter().map(|(_, p)| *p).sum();
        Ok(CheckpointBook {
            origin: genesis.chain_id().to_owned(),
            keys,
            quorum: maat_crypto::checkpoint::bft_quorum_power(total),
            me,
            pending: BTreeMap::new(),
            finals: BTreeMap::new(),
        })
    }

    /// Voting power a checkpoint needs.
    pub fn quorum(&self) -> u64 {
        self.quorum
    }

    /// Cosigns the log after a commit: returns the note to gossip (`None` for a node that does
    /// not cosign) and, if this signature completed a quorum, the final checkpoint.
    ///
    /// # Errors
    /// Signing failed (a key that is not ML-DSA-65).
    pub fn cosign_own(
        &mut self,
        tree_size: u64,
        root: [u8; 32],
    ) -> Result<(Option<String>, Option<(u64, String)>), CheckpointError> {
        let Some((index, key)) = self.me.clone() else {
            return Ok((None, None));
        };
        let checkpoint = Checkpoint::new(self.origin.clone(), tree_size, root)?;
        let sig = cosign(&checkpoint, &self.keys[index].0.name, &key)?;
        let gossip = SignedNote {
            body: checkpoint.body(),
            signatures: vec![sig.clone()],
        }
        .to_text();
        let done = match self.add(checkpoint, index, sig) {
            Received::Final(size, note) => Some((size, note)),
            _ => None,
        };
        Ok((Some(gossip), done))
    }

    /// Checks and counts a gossiped cosignature (a checkpoint note with one signature line).
    ///
    /// # Errors
    /// [`CosignatureError`]: the sender should be scored down.
    pub fn receive(&mut self, text: &str) -> Result<Received, CosignatureError> {
        let note = SignedNote::parse(text)?;
        let [sig] = note.signatures.as_slice() else {
            return Err(CosignatureError::Malformed(format!(
                "{} signature lines, expected one",
                note.signatures.len()
            )));
        };
        let checkpoint = Checkpoint::parse_body(&note.body)?;
        if checkpoint.origin != self.origin {
            return Err(CosignatureError::Malformed(format!(
                "origin `{}` is not this chain",
                checkpoint.origin
            )));
        }
        let index = self
            .keys
            .iter()
            .position(|(k, _)| k.matches(sig))
            .ok_or_else(|| CosignatureError::UnknownKey(sig.key_name.clone()))?;
        if self
            .pending
            .get(&(checkpoint.tree_size, checkpoint.root))
            .is_some_and(|s| s.contains_key(&index))
        {
            return Ok(Received::Duplicate);
        }
        self.keys[index]
            .0
            .verify(&note.body, sig)
            .map_err(|_| CosignatureError::BadSignature(sig.key_name.clone()))?;
        Ok(self.add(checkpoint, index, sig.clone()))
    }

    fn add(&mut self, checkpoint: Checkpoint, index: usize, sig: NoteSignature) -> Received {
        let key = (checkpoint.tree_size, checkpoint.root);
        let sigs = self.pending.entry(key).or_default();
        if sigs.insert(index, sig).is_some() {
            return Received::Duplicate;
        }
        let power: u64 = sigs.keys().map(|i| self.keys[*i].1).sum();
        let already = self.finals.get(&checkpoint.tree_size) == Some(&checkpoint.root);
        let out = if power >= self.quorum && !already {
            self.finals.insert(checkpoint.tree_size, checkpoint.root);
            let note = SignedNote {
                body: checkpoint.body(),
                signatures: sigs.values().cloned().collect(),
            };
            Received::Final(checkpoint.tree_size, note.to_text())
        } else {
            Received::Counted
        };
        // Entries below the newest final checkpoint are no longer needed once final; bound both
        // maps so a flood of valid but stale cosignatures cannot grow memory.
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_first();
        }
        while self.finals.len() > MAX_PENDING {
            self.finals.pop_first();
        }
        out
    }
}
