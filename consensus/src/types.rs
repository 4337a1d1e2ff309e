//! The consensus data model: validators, blocks, votes, certificates and the messages that
//! carry them, with their canonical encodings and domain-separated signing bytes.

use std::fmt;
use std::sync::Arc;

use crate::codec::{
    Decode, DecodeError, Encode, MAX_SIGNATURE_LEN, MAX_SIGNERS, Reader, put_bytes, put_len,
    put_option, put_u8, put_u32, put_u64,
};

/// A consensus round. Round 0 belongs to the genesis block; the first proposal is in round 1.
pub type Round = u64;
/// A block height. The genesis block has height 0.
pub type Height = u64;

/// Most bytes a block payload or application header may have on the wire.
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024 * 1024;

/// Domain strings (each followed by a 0x00 byte in hashed or signed bytes).
pub mod domain {
    /// Block ids: `blake3("maat/block/v1" || 0x00 || canonical block bytes)`.
    pub const BLOCK: &[u8] = b"maat/block/v1";
    /// Block payload hashes inside the header: `blake3("maat/block-payload/v1" || 0x00 || payload)`.
    pub const BLOCK_PAYLOAD: &[u8] = b"maat/block-payload/v1";
    /// Signing bytes of a vote.
    pub const VOTE: &[u8] = b"maat/vote/v1";
    /// Signing bytes of a timeout.
    pub const TIMEOUT: &[u8] = b"maat/timeout/v1";
    /// Signing bytes of a proposal.
    pub const PROPOSAL: &[u8] = b"maat/proposal/v1";
}

/// Position of a validator in the validator set (leader of round `r` is `r mod n`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ValidatorIndex(pub u32);

impl fmt::Debug for ValidatorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl fmt::Display for ValidatorIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A block id: BLAKE3 over the domain string and the canonical block bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BlockId(pub [u8; 32]);

impl BlockId {
    /// The all-zero id, used as the genesis block's parent.
    pub const ZERO: BlockId = BlockId([0; 32]);
}

impl fmt::Debug for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// An opaque signature (ML-DSA-65 in the node, a keyed BLAKE3 tag in the simulator).
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct SigBytes(pub Vec<u8>);

impl fmt::Debug for SigBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sig[{}]", self.0.len())
    }
}

/// The chain and epoch every signature is bound to, so a signature from one chain or epoch can
/// never be replayed in another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningDomain {
    /// The chain id (hash of the genesis file).
    pub chain_id: [u8; 32],
    /// The validator-set epoch (constant until validator-set changes exist).
    pub epoch: u64,
}

impl SigningDomain {
    fn start(&self, kind: &[u8], capacity: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(kind.len() + 1 + 32 + 8 + capacity);
        out.extend_from_slice(kind);
        out.push(0);
        out.extend_from_slice(&self.chain_id);
        put_u64(&mut out, self.epoch);
        out
    }

    /// `"maat/vote/v1" || 0x00 || chain_id || epoch || round || height || block_id`.
    pub fn vote_bytes(&self, block_id: &BlockId, round: Round, height: Height) -> Vec<u8> {
        let mut out = self.start(domain::VOTE, 48);
        put_u64(&mut out, round);
        put_u64(&mut out, height);
        out.extend_from_slice(&block_id.0);
        out
    }

    /// `"maat/timeout/v1" || 0x00 || chain_id || epoch || round || high_qc_round`.
    pub fn timeout_bytes(&self, round: Round, high_qc_round: Round) -> Vec<u8> {
        let mut out = self.start(domain::TIMEOUT, 16);
        put_u64(&mut out, round);
        put_u64(&mut out, high_qc_round);
        out
    }

    /// `"maat/proposal/v1" || 0x00 || chain_id || epoch || round || block_id`.
    pub fn proposal_bytes(&self, block_id: &BlockId, round: Round) -> Vec<u8> {
        let mut out = self.start(domain::PROPOSAL, 40);
        put_u64(&mut out, round);
        out.extend_from_slice(&block_id.0);
        out
    }
}

/// The validators of one epoch with their voting power (equal for now; weights already work).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    epoch: u64,
    powers: Vec<u64>,
    total: u64,
    quorum: u64,
    validity: u64,
}

/// Why a validator set was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidatorSetError {
    /// No validators.
    Empty,
    /// A validator with zero voting power.
    ZeroPower(ValidatorIndex),
    /// The total voting power does not fit in a `u64` (or there are more than `u32::MAX`).
    TooLarge,
}

impl ValidatorSet {
    /// A set with the given voting powers, indexed from 0.
    pub fn new(epoch: u64, powers: Vec<u64>) -> Result<Self, ValidatorSetError> {
        if powers.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if u32::try_from(powers.len()).is_err() {
            return Err(ValidatorSetError::TooLarge);
        }
        let mut total: u64 = 0;
        for (i, p) in powers.iter().enumerate() {
            if *p == 0 {
                return Err(ValidatorSetError::ZeroPower(ValidatorIndex(i as u32)));
            }
            total = total.checked_add(*p).ok_or(ValidatorSetError::TooLarge)?;
        }
        // Quorum: strictly more than two thirds (2f+1 of 3f+1); validity: strictly more than one
        // third (f+1), i.e. at least one honest validator.
        let quorum = ((total as u128 * 2) / 3 + 1) as u64;
        let validity = total / 3 + 1;
        Ok(ValidatorSet {
            epoch,
            powers,
            total,
            quorum,
            validity,
        })
    }

    /// `n` validators with voting power 1 each.
    pub fn equal(epoch: u64, n: usize) -> Result<Self, ValidatorSetError> {
        Self::new(epoch, vec![1; n])
    }

    /// The epoch of this set.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.powers.len()
    }

    /// Always false (an empty set cannot be built).
    pub fn is_empty(&self) -> bool {
        self.powers.is_empty()
    }

    /// Voting power of `v`, or `None` if `v` is not in the set.
    pub fn power(&self, v: ValidatorIndex) -> Option<u64> {
        self.powers.get(v.0 as usize).copied()
    }

    /// Total voting power.
    pub fn total_power(&self) -> u64 {
        self.total
    }

    /// Power needed for a QC or TC (strictly more than 2/3 of the total).
    pub fn quorum_power(&self) -> u64 {
        self.quorum
    }

    /// Power that contains at least one honest validator (strictly more than 1/3).
    pub fn validity_power(&self) -> u64 {
        self.validity
    }

    /// Leader of `round`: `validators[round mod n]`.
    pub fn leader(&self, round: Round) -> ValidatorIndex {
        ValidatorIndex((round % self.powers.len() as u64) as u32)
    }

    /// All indices.
    pub fn indices(&self) -> impl Iterator<Item = ValidatorIndex> + '_ {
        (0..self.powers.len() as u32).map(ValidatorIndex)
    }
}

/// A quorum certificate: 2f+1 votes (by power) for one block, kept as per-signer signatures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Qc {
    /// The certified block.
    pub block_id: BlockId,
    /// Its round.
    pub round: Round,
    /// Its height.
    pub height: Height,
    /// `(signer, signature over the vote bytes)`, sorted by strictly increasing signer.
    pub signatures: Vec<(ValidatorIndex, SigBytes)>,
}

impl Qc {
    /// The QC of the genesis block: round 0, no signatures, valid only for the configured genesis.
    pub fn genesis(genesis_id: BlockId) -> Qc {
        Qc {
            block_id: genesis_id,
            round: 0,
            height: 0,
            signatures: Vec::new(),
        }
    }
}

/// One signer's share of a timeout certificate.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TcSignature {
    /// Who timed out.
    pub signer: ValidatorIndex,
    /// The round of the highest QC that signer reported.
    pub high_qc_round: Round,
    /// Signature over the timeout bytes `(round, high_qc_round)`.
    pub signature: SigBytes,
}

/// A timeout certificate: 2f+1 (by power) timeouts for one round, with the highest QC among them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tc {
    /// The round that timed out.
    pub round: Round,
    /// The highest QC reported by the signers (its round is the max of their `high_qc_round`).
    pub high_qc: Qc,
    /// Sorted by strictly increasing signer.
    pub signatures: Vec<TcSignature>,
}

impl Tc {
    /// The highest QC round reported in this TC (the lock a proposal after it must respect).
    pub fn highest_qc_round(&self) -> Round {
        self.high_qc.round
    }
}

/// A block. Its id covers every field, including the parent QC and the TC.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// Parent height + 1.
    pub height: Height,
    /// The round it was proposed in.
    pub round: Round,
    /// The parent block (the block `justify` certifies).
    pub parent: BlockId,
    /// Milliseconds since the Unix epoch, from the proposer's clock; strictly above the parent's.
    pub timestamp_ms: u64,
    /// The leader of `round`.
    pub proposer: ValidatorIndex,
    /// Opaque transactions (the application's business).
    pub payload: Vec<u8>,
    /// Opaque application header fields (tx root, transparency-log size and root, ...).
    pub app_header: Vec<u8>,
    /// QC of the parent.
    pub justify: Qc,
    /// TC of `round - 1`, present exactly when `justify.round + 1 < round`.
    pub tc: Option<Tc>,
}

impl Block {
    /// The genesis block of a chain (height 0, round 0; the payload is the chain id).
    pub fn genesis(chain_id: [u8; 32], genesis_time_ms: u64) -> Block {
        Block {
            height: 0,
            round: 0,
            parent: BlockId::ZERO,
            timestamp_ms: genesis_time_ms,
            proposer: ValidatorIndex(0),
            payload: chain_id.to_vec(),
            app_header: Vec::new(),
            justify: Qc::genesis(BlockId::ZERO),
            tc: None,
        }
    }

    /// `blake3("maat/block/v1" || 0x00 || canonical header bytes)`: the id covers the payload
    /// through its hash, so a header alone (a light client's view) has a checkable id.
    pub fn id(&self) -> BlockId {
        let mut bytes = Vec::with_capacity(256 + self.app_header.len());
        self.encode_header_to(&payload_hash(&self.payload), &mut bytes);
        header_id(&bytes)
    }

    /// The header: every field, the payload replaced by [`payload_hash`].
    pub fn header(&self) -> BlockHeader {
        BlockHeader {
            height: self.height,
            round: self.round,
            parent: self.parent,
            timestamp_ms: self.timestamp_ms,
            proposer: self.proposer,
            payload_hash: payload_hash(&self.payload),
            app_header: self.app_header.clone(),
            justify: self.justify.clone(),
            tc: self.tc.clone(),
        }
    }

    fn encode_header_to(&self, payload_hash: &[u8; 32], out: &mut Vec<u8>) {
        encode_header_fields(
            out,
            (self.height, self.round, &self.parent, self.timestamp_ms),
            self.proposer,
            payload_hash,
            (&self.app_header, &self.justify, &self.tc),
        );
    }
}

/// `blake3("maat/block-payload/v1" || 0x00 || payload)`.
pub fn payload_hash(payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(domain::BLOCK_PAYLOAD);
    h.update(&[0]);
    h.update(payload);
    *h.finalize().as_bytes()
}

fn header_id(header_bytes: &[u8]) -> BlockId {
    let mut h = blake3::Hasher::new();
    h.update(domain::BLOCK);
    h.update(&[0]);
    h.update(header_bytes);
    BlockId(*h.finalize().as_bytes())
}

/// A block without its payload (the payload's hash instead): what finality proofs carry. Its
/// canonical bytes are the block's with the length-prefixed payload replaced by the 32-byte hash,
/// and [`BlockHeader::id`] equals the block's id.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockHeader {
    /// Parent height + 1.
    pub height: Height,
    /// The round it was proposed in.
    pub round: Round,
    /// The parent block.
    pub parent: BlockId,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The leader of `round`.
    pub proposer: ValidatorIndex,
    /// [`payload_hash`] of the block's payload.
    pub payload_hash: [u8; 32],
    /// Opaque application header fields.
    pub app_header: Vec<u8>,
    /// QC of the parent.
    pub justify: Qc,
    /// TC of `round - 1`, if any.
    pub tc: Option<Tc>,
}

impl BlockHeader {
    /// The block id (same as [`Block::id`] of the full block).
    pub fn id(&self) -> BlockId {
        header_id(&self.encode())
    }
}

/// A signed vote for a block, sent to the leader of the next round.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Vote {
    /// The block voted for.
    pub block_id: BlockId,
    /// Its round.
    pub round: Round,
    /// Its height.
    pub height: Height,
    /// Who votes.
    pub voter: ValidatorIndex,
    /// Signature over [`SigningDomain::vote_bytes`].
    pub signature: SigBytes,
}

/// A signed timeout for a round, broadcast when the round timer expires.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TimeoutMsg {
    /// The round given up on.
    pub round: Round,
    /// The sender's highest QC.
    pub high_qc: Qc,
    /// The TC of `round - 1` when `high_qc.round + 1 < round` (justifies being in `round`).
    pub last_tc: Option<Tc>,
    /// Who times out.
    pub sender: ValidatorIndex,
    /// Signature over [`SigningDomain::timeout_bytes`] `(round, high_qc.round)`.
    pub signature: SigBytes,
}

/// A signed block proposal from the leader of the block's round.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Proposal {
    /// The proposed block.
    pub block: Arc<Block>,
    /// Signature over [`SigningDomain::proposal_bytes`].
    pub signature: SigBytes,
}

/// The certificates that justify a round: sent to a peer that is behind.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SyncInfo {
    /// The sender's highest QC.
    pub high_qc: Qc,
    /// The sender's highest TC, if higher than its QC.
    pub high_tc: Option<Tc>,
}

/// Every message validators exchange through the core.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Message {
    /// A leader's block (tag 1).
    Proposal(Proposal),
    /// A vote, to the next leader (tag 2).
    Vote(Vote),
    /// A timeout, to everyone (tag 3).
    Timeout(TimeoutMsg),
    /// QC / TC for a lagging peer (tag 4).
    Sync(SyncInfo),
}

impl Message {
    /// Short name for logs and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Proposal(_) => "proposal",
            Message::Vote(_) => "vote",
            Message::Timeout(_) => "timeout",
            Message::Sync(_) => "sync",
        }
    }
}

/// Two signed messages by one validator for different blocks in the same round.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Equivocation {
    /// Two votes.
    Vote {
        /// The vote seen first.
        first: Vote,
        /// The conflicting vote.
        second: Vote,
    },
    /// Two proposals.
    Proposal {
        /// The proposal seen first.
        first: Proposal,
        /// The conflicting proposal.
        second: Proposal,
    },
}

impl Equivocation {
    /// The validator that equivocated.
    pub fn culprit(&self) -> ValidatorIndex {
        match self {
            Equivocation::Vote { first, .. } => first.voter,
            Equivocation::Proposal { first, .. } => first.block.proposer,
        }
    }

    /// The round it happened in.
    pub fn round(&self) -> Round {
        match self {
            Equivocation::Vote { first, .. } => first.round,
            Equivocation::Proposal { first, .. } => first.block.round,
        }
    }
}

// ---- canonical encodings -------------------------------------------------------------------

impl Encode for BlockId {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for BlockId {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockId(r.array32()?))
    }
}

fn decode_sig(r: &mut Reader<'_>) -> Result<SigBytes, DecodeError> {
    Ok(SigBytes(r.bytes(MAX_SIGNATURE_LEN)?))
}

impl Encode for Qc {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block_id.encode_to(out);
        put_u64(out, self.round);
        put_u64(out, self.height);
        put_len(out, self.signatures.len());
        for (v, s) in &self.signatures {
            put_u32(out, v.0);
            put_bytes(out, &s.0);
        }
    }
}

impl Decode for Qc {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let block_id = BlockId::decode_from(r)?;
        let round = r.u64()?;
        let height = r.u64()?;
        let n = r.count(MAX_SIGNERS, 8)?;
        let mut signatures = Vec::with_capacity(n);
        for _ in 0..n {
            let v = ValidatorIndex(r.u32()?);
            if signatures.last().is_some_and(|(p, _)| *p >= v) {
                return Err(DecodeError::NonCanonical(
                    "QC signers not strictly increasing",
                ));
            }
            signatures.push((v, decode_sig(r)?));
        }
        Ok(Qc {
            block_id,
            round,
            height,
            signatures,
        })
    }
}

impl Encode for Tc {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_u64(out, self.round);
        self.high_qc.encode_to(out);
        put_len(out, self.signatures.len());
        for s in &self.signatures {
            put_u32(out, s.signer.0);
            put_u64(out, s.high_qc_round);
            put_bytes(out, &s.signature.0);
        }
    }
}

impl Decode for Tc {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let round = r.u64()?;
        let high_qc = Qc::decode_from(r)?;
        let n = r.count(MAX_SIGNERS, 16)?;
        let mut signatures: Vec<TcSignature> = Vec::with_capacity(n);
        for _ in 0..n {
            let signer = ValidatorIndex(r.u32()?);
            if signatures.last().is_some_and(|p| p.signer >= signer) {
                return Err(DecodeError::NonCanonical(
                    "TC signers not strictly increasing",
                ));
            }
            let high_qc_round = r.u64()?;
            signatures.push(TcSignature {
                signer,
                high_qc_round,
                signature: decode_sig(r)?,
            });
        }
        Ok(Tc {
            round,
            high_qc,
            signatures,
        })
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_u64(out, self.height);
        put_u64(out, self.round);
        self.parent.encode_to(out);
        put_u64(out, self.timestamp_ms);
        put_u32(out, self.proposer.0);
        put_bytes(out, &self.payload);
        put_bytes(out, &self.app_header);
        self.justify.encode_to(out);
        put_option(out, &self.tc);
    }
}

impl Decode for Block {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            height: r.u64()?,
            round: r.u64()?,
            parent: BlockId::decode_from(r)?,
            timestamp_ms: r.u64()?,
            proposer: ValidatorIndex(r.u32()?),
            payload: r.bytes(MAX_PAYLOAD_LEN)?,
            app_header: r.bytes(MAX_PAYLOAD_LEN)?,
            justify: Qc::decode_from(r)?,
            tc: r.option()?,
        })
    }
}

/// The header layout, shared by [`BlockHeader`] and [`Block::id`] (which hashes it without
/// building a `BlockHeader`).
fn encode_header_fields(
    out: &mut Vec<u8>,
    (height, round, parent, timestamp_ms): (Height, Round, &BlockId, u64),
    proposer: ValidatorIndex,
    payload_hash: &[u8; 32],
    (app_header, justify, tc): (&[u8], &Qc, &Option<Tc>),
) {
    put_u64(out, height);
    put_u64(out, round);
    parent.encode_to(out);
    put_u64(out, timestamp_ms);
    put_u32(out, proposer.0);
    out.extend_from_slice(payload_hash);
    put_bytes(out, app_header);
    justify.encode_to(out);
    put_option(out, tc);
}

impl Encode for BlockHeader {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_header_fields(
            out,
            (self.height, self.round, &self.parent, self.timestamp_ms),
            self.proposer,
            &self.payload_hash,
            (&self.app_header, &self.justify, &self.tc),
        );
    }
}

impl Decode for BlockHeader {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockHeader {
            height: r.u64()?,
            round: r.u64()?,
            parent: BlockId::decode_from(r)?,
            timestamp_ms: r.u64()?,
            proposer: ValidatorIndex(r.u32()?),
            payload_hash: r.array32()?,
            app_header: r.bytes(MAX_PAYLOAD_LEN)?,
            justify: Qc::decode_from(r)?,
            tc: r.option()?,
        })
    }
}

impl Encode for Vote {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block_id.encode_to(out);
        put_u64(out, self.round);
        put_u64(out, self.height);
        put_u32(out, self.voter.0);
        put_bytes(out, &self.signature.0);
    }
}

impl Decode for Vote {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Vote {
            block_id: BlockId::decode_from(r)?,
            round: r.u64()?,
            height: r.u64()?,
            voter: ValidatorIndex(r.u32()?),
            signature: decode_sig(r)?,
        })
    }
}

impl Encode for TimeoutMsg {
    fn encode_to(&self, out: &mut Vec<u8>) {
        put_u64(out, self.round);
        self.high_qc.encode_to(out);
        put_option(out, &self.last_tc);
        put_u32(out, self.sender.0);
        put_bytes(out, &self.signature.0);
    }
}

impl Decode for TimeoutMsg {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TimeoutMsg {
            round: r.u64()?,
            high_qc: Qc::decode_from(r)?,
            last_tc: r.option()?,
            sender: ValidatorIndex(r.u32()?),
            signature: decode_sig(r)?,
        })
    }
}

impl Encode for Proposal {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.block.encode_to(out);
        put_bytes(out, &self.signature.0);
    }
}

impl Decode for Proposal {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Proposal {
            block: Arc::new(Block::decode_from(r)?),
            signature: decode_sig(r)?,
        })
    }
}

impl Encode for SyncInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.high_qc.encode_to(out);
        put_option(out, &self.high_tc);
    }
}

impl Decode for SyncInfo {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SyncInfo {
            high_qc: Qc::decode_from(r)?,
            high_tc: r.option()?,
        })
    }
}

impl Encode for Message {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Proposal(p) => {
                put_u8(out, 1);
                p.encode_to(out);
            }
            Message::Vote(v) => {
                put_u8(out, 2);
                v.encode_to(out);
            }
            Message::Timeout(t) => {
                put_u8(out, 3);
                t.encode_to(out);
            }
            Message::Sync(s) => {
                put_u8(out, 4);
                s.encode_to(out);
            }
        }
    }
}

impl Decode for Message {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            1 => Ok(Message::Proposal(Proposal::decode_from(r)?)),
            2 => Ok(Message::Vote(Vote::decode_from(r)?)),
            3 => Ok(Message::Timeout(TimeoutMsg::decode_from(r)?)),
            4 => Ok(Message::Sync(SyncInfo::decode_from(r)?)),
            t => Err(DecodeError::BadTag(t)),
        }
    }
}
