//! Unit tests of the pieces (encoding, certificates, safety rules) and of the core's behaviour
//! on hand-built inputs. The randomized campaign lives in `sim::tests`.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::codec::{Decode, DecodeError, Encode};
use crate::safety::{Mutation, SafetyData, SafetyError, SafetyRules, VoteInput, commit_rule};
use crate::sim::Rng;
use crate::verify::{CertError, verify_qc, verify_tc};
use crate::*;

type TestCore = Core<TestSigner, TestKeys>;

fn config() -> Config {
    Config {
        chain_id: [7; 32],
        genesis_time_ms: 1_000,
        ..Config::default()
    }
}

fn domain() -> SigningDomain {
    SigningDomain {
        chain_id: config().chain_id,
        epoch: 0,
    }
}

fn genesis_id() -> BlockId {
    config().genesis_block().id()
}

fn keys(n: usize) -> TestKeys {
    TestKeys::new(n, 32)
}

fn qc_for(keys: &TestKeys, signers: &[u32], block_id: BlockId, round: Round, height: Height) -> Qc {
    let msg = domain().vote_bytes(&block_id, round, height);
    Qc {
        block_id,
        round,
        height,
        signatures: signers
            .iter()
            .map(|&i| {
                let v = ValidatorIndex(i);
                (v, keys.signer(v).unwrap().sign(&msg))
            })
            .collect(),
    }
}

fn tc_for(keys: &TestKeys, signers: &[(u32, Round)], round: Round, high_qc: Qc) -> Tc {
    Tc {
        round,
        high_qc,
        signatures: signers
            .iter()
            .map(|&(i, hqc)| {
                let v = ValidatorIndex(i);
                TcSignature {
                    signer: v,
                    high_qc_round: hqc,
                    signature: keys
                        .signer(v)
                        .unwrap()
                        .sign(&domain().timeout_bytes(round, hqc)),
                }
            })
            .collect(),
    }
}

/// A block of `round` extending `parent` (certified by `justify`), proposed by the round leader.
fn child(parent: &Block, justify: Qc, round: Round, n: usize, payload: &[u8]) -> Block {
    Block {
        height: parent.height + 1,
        round,
        parent: justify.block_id,
        timestamp_ms: parent.timestamp_ms + 1,
        proposer: ValidatorIndex((round % n as u64) as u32),
        payload: payload.to_vec(),
        app_header: Vec::new(),
        justify,
        tc: None,
    }
}

fn propose(keys: &TestKeys, block: Block) -> Proposal {
    let id = block.id();
    let signature = keys
        .signer(block.proposer)
        .unwrap()
        .sign(&domain().proposal_bytes(&id, block.round));
    Proposal {
        block: Arc::new(block),
        signature,
    }
}

fn core(n: usize, me: u32) -> TestCore {
    let k = keys(n);
    Core::new(
        config(),
        ValidatorSet::equal(0, n).unwrap(),
        ValidatorIndex(me),
        k.signer(ValidatorIndex(me)).unwrap(),
        k,
        Recovered::genesis(&config(), 0),
    )
    .unwrap()
}

fn observer(n: usize) -> TestCore {
    Core::new_observer(
        config(),
        ValidatorSet::equal(0, n).unwrap(),
        keys(n),
        Recovered::genesis(&config(), 0),
    )
    .unwrap()
}

fn sample_messages() -> Vec<Message> {
    let k = keys(4);
    let g = config().genesis_block();
    let b1 = child(&g, Qc::genesis(g.id()), 1, 4, b"tx");
    let qc1 = qc_for(&k, &[0, 1, 3], b1.id(), 1, 1);
    let tc2 = tc_for(&k, &[(0, 1), (2, 0), (3, 1)], 2, qc1.clone());
    let mut b3 = child(&b1, qc1.clone(), 3, 4, b"");
    b3.tc = Some(tc2.clone());
    b3.app_header = vec![9; 40];
    let vote = Vote {
        block_id: b1.id(),
        round: 1,
        height: 1,
        voter: ValidatorIndex(2),
        signature: SigBytes(vec![1, 2, 3]),
    };
    let timeout = TimeoutMsg {
        round: 3,
        high_qc: qc1.clone(),
        last_tc: Some(tc2.clone()),
        sender: ValidatorIndex(1),
        signature: SigBytes(vec![4; 32]),
    };
    vec![
        Message::Proposal(propose(&k, b1)),
        Message::Proposal(propose(&k, b3)),
        Message::Vote(vote),
        Message::Timeout(timeout),
        Message::Sync(SyncInfo {
            high_qc: qc1,
            high_tc: Some(tc2),
        }),
    ]
}

// ---- encoding -----------------------------------------------------------------------------------

#[test]
fn messages_round_trip_and_reencode_identically() {
    for m in sample_messages() {
        let bytes = m.encode();
        let back = Message::decode(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.encode(), bytes);
    }
    let data = SafetyData {
        epoch: 3,
        last_voted_round: 9,
        last_proposed_round: 8,
        high_qc: Qc::genesis(genesis_id()),
        high_tc: match &sample_messages()[4] {
            Message::Sync(s) => s.high_tc.clone(),
            _ => None,
        },
        last_vote: None,
        last_timeout: match &sample_messages()[3] {
            Message::Timeout(t) => Some(t.clone()),
            _ => None,
        },
    };
    assert_eq!(SafetyData::decode(&data.encode()).unwrap(), data);
}

#[test]
fn a_header_has_its_blocks_id_and_round_trips() {
    for m in sample_messages() {
        let Message::Proposal(p) = m else { continue };
        let header = p.block.header();
        assert_eq!(header.id(), p.block.id());
        let bytes = header.encode();
        assert_eq!(BlockHeader::decode(&bytes).unwrap(), header);
        // The id commits to the payload: a different payload, a different id.
        let mut other = (*p.block).clone();
        other.payload.push(1);
        assert_ne!(other.id(), p.block.id());
        assert_ne!(other.header().payload_hash, header.payload_hash);
    }
}

#[test]
fn decoder_rejects_non_canonical_input() {
    let bytes = sample_messages()[1].encode();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(Message::decode(&trailing), Err(DecodeError::TrailingBytes));
    let mut bad_tag = bytes.clone();
    bad_tag[0] = 9;
    assert_eq!(Message::decode(&bad_tag), Err(DecodeError::BadTag(9)));
    // Every strict prefix is an error, never a panic.
    for len in 0..bytes.len() {
        assert!(
            Message::decode(&bytes[..len]).is_err(),
            "prefix {len} decoded"
        );
    }
    // Signers out of order are refused.
    let k = keys(4);
    let mut qc = qc_for(&k, &[0, 1, 2], BlockId([1; 32]), 1, 1);
    qc.signatures.swap(0, 1);
    assert!(matches!(
        Qc::decode(&qc.encode()),
        Err(DecodeError::NonCanonical(_))
    ));
    // An option tag other than 0/1.
    let mut sync = Message::Sync(SyncInfo {
        high_qc: Qc::genesis(genesis_id()),
        high_tc: None,
    })
    .encode();
    *sync.last_mut().unwrap() = 2;
    assert_eq!(Message::decode(&sync), Err(DecodeError::BadTag(2)));
}

#[test]
fn decoder_survives_garbage() {
    let mut rng = Rng::new(99);
    let samples: Vec<Vec<u8>> = sample_messages().iter().map(|m| m.encode()).collect();
    for i in 0..20_000 {
        let mut b = samples[i % samples.len()].clone();
        // Flip, insert and truncate at random; also pure noise.
        for _ in 0..rng.range(1, 4) {
            match rng.below(4) {
                0 if !b.is_empty() => {
                    let at = rng.below(b.len() as u64) as usize;
                    b[at] ^= 1 << rng.below(8);
                }
                1 => {
                    let at = rng.below(b.len() as u64 + 1) as usize;
                    b.insert(at, rng.next_u64() as u8);
                }
                2 => b.truncate(rng.below(b.len() as u64 + 1) as usize),
                _ => b = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect(),
            }
        }
        if let Ok(m) = Message::decode(&b) {
            assert_eq!(m.encode(), b, "accepted bytes must be canonical");
        }
    }
    // A count that claims more items than bytes follow does not allocate or panic.
    let mut huge = vec![2u8];
    huge.extend_from_slice(&[0; 32 + 16 + 4]);
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(Message::decode(&huge).is_err());
}

#[test]
fn ids_and_signing_bytes_are_domain_separated_and_pinned() {
    let g = config().genesis_block();
    // Pinned: changing the block encoding or the domain string changes every id on the chain.
    assert_eq!(
        g.id().to_string(),
        "10d091aec3073f392ef4a3efa54ee0c1c3421e7816520842064527d560ac0305"
    );
    // The id is over the header: the payload enters only through its domain-separated hash.
    let mut payload_hasher = blake3::Hasher::new();
    payload_hasher.update(b"maat/block-payload/v1\0");
    payload_hasher.update(&g.payload);
    let header = g.header();
    assert_eq!(header.payload_hash, *payload_hasher.finalize().as_bytes());
    let mut id_hasher = blake3::Hasher::new();
    id_hasher.update(b"maat/block/v1\0");
    id_hasher.update(&header.encode());
    assert_eq!(g.id().0, *id_hasher.finalize().as_bytes());
    let mut g2 = g.clone();
    g2.timestamp_ms += 1;
    assert_ne!(g.id(), g2.id());
    let d = domain();
    let id = BlockId([5; 32]);
    let vote = d.vote_bytes(&id, 3, 2);
    assert!(vote.starts_with(b"maat/vote/v1\0"));
    assert!(d.timeout_bytes(3, 2).starts_with(b"maat/timeout/v1\0"));
    assert!(d.proposal_bytes(&id, 3).starts_with(b"maat/proposal/v1\0"));
    let other_chain = SigningDomain {
        chain_id: [8; 32],
        epoch: 0,
    };
    assert_ne!(vote, other_chain.vote_bytes(&id, 3, 2));
    let other_epoch = SigningDomain { epoch: 1, ..d };
    assert_ne!(vote, other_epoch.vote_bytes(&id, 3, 2));
}

// ---- validator set and certificates ------------------------------------------------------------

#[test]
fn quorum_thresholds() {
    for (n, q, v) in [(1, 1, 1), (4, 3, 2), (7, 5, 3), (10, 7, 4), (31, 21, 11)] {
        let s = ValidatorSet::equal(0, n).unwrap();
        assert_eq!((s.quorum_power(), s.validity_power()), (q, v), "n={n}");
    }
    // Weighted: total 10, quorum 7, validity 4.
    let s = ValidatorSet::new(0, vec![5, 2, 2, 1]).unwrap();
    assert_eq!(
        (s.total_power(), s.quorum_power(), s.validity_power()),
        (10, 7, 4)
    );
    assert_eq!(s.leader(6), ValidatorIndex(2));
    assert!(ValidatorSet::new(0, vec![]).is_err());
    assert!(ValidatorSet::new(0, vec![1, 0]).is_err());
    assert!(ValidatorSet::new(0, vec![u64::MAX, 1]).is_err());
}

#[test]
fn qc_and_tc_verification() {
    let k = keys(4);
    let vs = ValidatorSet::equal(0, 4).unwrap();
    let d = domain();
    let g = genesis_id();
    let id = BlockId([3; 32]);
    let ok = qc_for(&k, &[0, 2, 3], id, 4, 2);
    assert_eq!(verify_qc(&ok, &vs, &k, &d, &g), Ok(()));
    assert_eq!(
        verify_qc(&qc_for(&k, &[0, 2], id, 4, 2), &vs, &k, &d, &g),
        Err(CertError::NoQuorum)
    );
    let mut dup = ok.clone();
    dup.signatures[1] = dup.signatures[0].clone();
    assert_eq!(
        verify_qc(&dup, &vs, &k, &d, &g),
        Err(CertError::UnsortedSigners)
    );
    let mut forged = ok.clone();
    forged.round = 5;
    assert!(matches!(
        verify_qc(&forged, &vs, &k, &d, &g),
        Err(CertError::BadSignature(_))
    ));
    let unknown = qc_for(&TestKeys::new(5, 32), &[0, 2, 4], id, 4, 2);
    assert_eq!(
        verify_qc(&unknown, &vs, &k, &d, &g),
        Err(CertError::UnknownSigner(ValidatorIndex(4)))
    );
    assert_eq!(verify_qc(&Qc::genesis(g), &vs, &k, &d, &g), Ok(()));
    assert_eq!(
        verify_qc(&Qc::genesis(id), &vs, &k, &d, &g),
        Err(CertError::BadGenesis)
    );
    // A signature from another chain does not count.
    let other = SigningDomain {
        chain_id: [1; 32],
        epoch: 0,
    };
    assert!(verify_qc(&ok, &vs, &k, &other, &g).is_err());

    let tc = tc_for(&k, &[(0, 4), (1, 2), (3, 0)], 6, ok.clone());
    assert_eq!(verify_tc(&tc, &vs, &k, &d, &g), Ok(()));
    // The carried QC must be the highest reported one.
    let low = tc_for(&k, &[(0, 3), (1, 2), (3, 0)], 6, ok.clone());
    assert_eq!(verify_tc(&low, &vs, &k, &d, &g), Err(CertError::BadHighQc));
    let short = tc_for(&k, &[(0, 4), (1, 2)], 6, ok);
    assert_eq!(verify_tc(&short, &vs, &k, &d, &g), Err(CertError::NoQuorum));
}

// ---- safety rules -------------------------------------------------------------------------------

fn rules(data: SafetyData, mutation: Mutation) -> SafetyRules {
    SafetyRules::new(ValidatorIndex(1), domain(), data, mutation)
}

fn input(block: &Block) -> VoteInput<'_> {
    VoteInput {
        block,
        block_id: block.id(),
        parent_timestamp_ms: block.timestamp_ms - 1,
        local_now_ms: block.timestamp_ms,
        max_clock_skew_ms: 500,
        payload_valid: true,
    }
}

#[test]
fn vote_rule() {
    let k = keys(4);
    let s = k.signer(ValidatorIndex(1)).unwrap();
    let g = config().genesis_block();
    let b1 = child(&g, Qc::genesis(g.id()), 1, 4, b"");
    let mut r = rules(SafetyData::new(0, Qc::genesis(g.id())), Mutation::None);
    let (vote, data) = r.sign_vote(&input(&b1), &s).unwrap();
    assert_eq!((vote.round, data.last_voted_round), (1, 1));
    assert_eq!(data.last_vote, Some(vote));
    // Never twice in a round, even for another block.
    let mut other = b1.clone();
    other.payload = b"x".to_vec();
    assert!(matches!(
        r.sign_vote(&input(&other), &s),
        Err(SafetyError::RoundNotAfterLastVote { .. })
    ));
    // A round not justified by its QC (no TC) is refused.
    let qc1 = qc_for(&k, &[0, 1, 2], b1.id(), 1, 1);
    let skip = child(&b1, qc1.clone(), 3, 4, b"");
    assert!(matches!(
        r.check_vote(&input(&skip)),
        Err(SafetyError::NotSafeToVote { .. })
    ));
    // With a TC of the previous round whose highest QC is not above the block's QC: fine.
    let mut with_tc = skip.clone();
    with_tc.tc = Some(tc_for(&k, &[(0, 1), (2, 1), (3, 0)], 2, qc1.clone()));
    assert_eq!(r.check_vote(&input(&with_tc)), Ok(()));
    // A TC reporting a higher QC than the block extends: the lock forbids it.
    let b2 = child(&b1, qc1.clone(), 2, 4, b"");
    let qc2 = qc_for(&k, &[0, 1, 2], b2.id(), 2, 2);
    let mut fork = child(&b1, qc1, 4, 4, b"fork");
    fork.tc = Some(tc_for(&k, &[(0, 2), (2, 1), (3, 1)], 3, qc2));
    assert!(matches!(
        r.check_vote(&input(&fork)),
        Err(SafetyError::NotSafeToVote { .. })
    ));
    // ... which is exactly what the mutant lets through.
    let m = rules(r.data().clone(), Mutation::IgnoreTcLock);
    assert_eq!(m.check_vote(&input(&fork)), Ok(()));
    // Payload verdict and timestamps.
    let b2b = child(&b1, qc_for(&k, &[0, 1, 2], b1.id(), 1, 1), 2, 4, b"");
    let mut i = input(&b2b);
    i.payload_valid = false;
    assert_eq!(r.check_vote(&i), Err(SafetyError::PayloadNotValid));
    let mut i = input(&b2b);
    i.parent_timestamp_ms = b2b.timestamp_ms;
    assert_eq!(r.check_vote(&i), Err(SafetyError::TimestampNotAfterParent));
    let mut i = input(&b2b);
    i.local_now_ms = b2b.timestamp_ms - 501;
    assert_eq!(r.check_vote(&i), Err(SafetyError::TimestampTooFarAhead));
}

#[test]
fn timeout_rule_and_proposal_rule() {
    let k = keys(4);
    let s = k.signer(ValidatorIndex(1)).unwrap();
    let g = config().genesis_block();
    let gqc = Qc::genesis(g.id());
    let mut r = rules(SafetyData::new(0, gqc.clone()), Mutation::None);
    let (t, data) = r.sign_timeout(1, &gqc, None, &s).unwrap();
    assert_eq!((t.round, data.last_voted_round), (1, 1));
    assert_eq!(
        r.sign_timeout(1, &gqc, None, &s),
        Err(SafetyError::AlreadyTimedOut(1))
    );
    // Timing out forbids voting later in that round.
    let b1 = child(&g, gqc.clone(), 1, 4, b"");
    assert!(matches!(
        r.check_vote(&input(&b1)),
        Err(SafetyError::RoundNotAfterLastVote { .. })
    ));
    // A timeout must carry at least the lock and be justified by its QC or TC.
    let qc1 = qc_for(&k, &[0, 1, 2], b1.id(), 1, 1);
    r.observe_qc(&qc1);
    assert_eq!(
        r.check_timeout(2, &gqc, None),
        Err(SafetyError::HighQcBelowLock)
    );
    assert_eq!(
        r.check_timeout(5, &qc1, None),
        Err(SafetyError::NotSafeToTimeout(5))
    );
    assert_eq!(r.check_timeout(2, &qc1, None), Ok(()));
    // Proposals: once per round, only own, never in a round already voted or timed out in.
    let s5 = k.signer(ValidatorIndex(1)).unwrap();
    let b5 = Arc::new(child(&b1, qc1.clone(), 5, 4, b""));
    let mut b5tc = (*b5).clone();
    b5tc.tc = Some(tc_for(&k, &[(0, 1), (2, 1), (3, 0)], 4, qc1.clone()));
    let b5tc = Arc::new(b5tc);
    assert_eq!(
        r.sign_proposal(b5.clone(), b5.id(), &s5).map(|_| ()),
        Err(SafetyError::NotSafeToVote {
            round: 5,
            qc_round: 1,
            tc: None
        })
    );
    assert!(r.sign_proposal(b5tc.clone(), b5tc.id(), &s5).is_ok());
    assert_eq!(
        r.sign_proposal(b5tc.clone(), b5tc.id(), &s5).map(|_| ()),
        Err(SafetyError::AlreadyProposed(5))
    );
    let not_mine = Arc::new(child(&b1, qc1, 2, 4, b""));
    assert_eq!(
        r.sign_proposal(not_mine.clone(), not_mine.id(), &s5)
            .map(|_| ()),
        Err(SafetyError::NotOwnProposal)
    );
}

#[test]
fn commit_rule_needs_consecutive_rounds() {
    let k = keys(4);
    let g = config().genesis_block();
    let b1 = child(&g, Qc::genesis(g.id()), 1, 4, b"");
    let qc1 = qc_for(&k, &[0, 1, 2], b1.id(), 1, 1);
    let b2 = child(&b1, qc1.clone(), 2, 4, b"");
    assert_eq!(commit_rule(&b2, b2.id(), Mutation::None), Some(b1.id()));
    let b3 = child(&b1, qc1, 3, 4, b"");
    assert_eq!(commit_rule(&b3, b3.id(), Mutation::None), None);
    assert_eq!(
        commit_rule(&b3, b3.id(), Mutation::CommitOnOneChain),
        Some(b3.id())
    );
}

// ---- the core, driven by hand ---------------------------------------------------------------------

/// A synchronous driver: instant network, clock `now`, application accepting everything
/// (payload `b"tx"` unless told otherwise). Nodes `n..` are observers (full nodes): like in
/// the node, they get proposals (gossip) but not votes or timeouts (sent to validators).
struct Net {
    nodes: Vec<TestCore>,
    queue: VecDeque<(usize, Event)>,
    now: u64,
    commits: Vec<Vec<Height>>,
    committed_ids: Vec<Vec<BlockId>>,
    log: Vec<(usize, Action)>,
    payload: Vec<u8>,
}

impl Net {
    fn new(n: usize) -> Net {
        Net::with_observers(n, 0)
    }

    fn with_observers(n: usize, observers: usize) -> Net {
        let total = n + observers;
        Net {
            nodes: (0..n as u32)
                .map(|i| core(n, i))
                .chain((0..observers).map(|_| observer(n)))
                .collect(),
            queue: (0..total).map(|i| (i, Event::Start)).collect(),
            now: 10_000,
            commits: vec![Vec::new(); total],
            committed_ids: vec![Vec::new(); total],
            log: Vec::new(),
            payload: b"tx".to_vec(),
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&Net) -> bool) {
        let total = self.nodes.len();
        let n = self.nodes[0].validators().len();
        let mut steps = 0;
        while let Some((i, ev)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "no progress");
            let me = ValidatorIndex(i as u32);
            for a in self.nodes[i].handle(self.now, ev) {
                self.log.push((i, a.clone()));
                match a {
                    Action::Send { to, message } => self
                        .queue
                        .push_back((to.0 as usize, Event::Message { from: me, message })),
                    Action::Broadcast { message } => {
                        let to = if matches!(message, Message::Proposal(_)) {
                            total
                        } else {
                            n
                        };
                        for j in (0..to).filter(|j| *j != i) {
                            let message = message.clone();
                            self.queue
                                .push_back((j, Event::Message { from: me, message }));
                        }
                    }
                    Action::RequestPayload { round, .. } => self.queue.push_back((
                        i,
                        Event::PayloadReady {
                            round,
                            payload: self.payload.clone(),
                            app_header: Vec::new(),
                            timestamp_ms: None,
                        },
                    )),
                    Action::ValidateBlock { block_id, .. } => self.queue.push_back((
                        i,
                        Event::BlockValidated {
                            block_id,
                            valid: true,
                        },
                    )),
                    Action::Commit { blocks, .. } => {
                        self.commits[i].extend(blocks.iter().map(|(_, b)| b.height));
                        self.committed_ids[i].extend(blocks.iter().map(|(id, _)| *id));
                    }
                    _ => {}
                }
            }
            if done(self) {
                return;
            }
        }
    }
}

#[test]
fn four_validators_commit_in_order_and_persist_before_sending() {
    let mut net = Net::new(4);
    net.run_until(|net| net.commits.iter().all(|c| c.len() >= 10));
    for c in &net.commits {
        assert_eq!(c[..10], (1..=10).collect::<Vec<_>>());
    }
    // Every signed vote, timeout and proposal leaves after the safety data that contains it.
    let mut persisted: Vec<Option<SafetyData>> = vec![None; 4];
    for (i, a) in &net.log {
        match a {
            Action::PersistSafety(d) => persisted[*i] = Some((**d).clone()),
            Action::Send {
                message: Message::Vote(v),
                ..
            } => {
                let d = persisted[*i].as_ref().expect("persisted before the vote");
                assert_eq!(d.last_vote.as_ref(), Some(v));
            }
            Action::Broadcast {
                message: Message::Proposal(p),
            } => {
                let d = persisted[*i]
                    .as_ref()
                    .expect("persisted before the proposal");
                assert!(d.last_proposed_round >= p.block.round);
            }
            _ => {}
        }
    }
    assert!(net.nodes.iter().all(|c| c.metrics().rejected == 0));
}

#[test]
fn an_observer_commits_the_validators_chain_and_never_signs() {
    let mut net = Net::with_observers(4, 1);
    net.run_until(|net| net.commits[4].len() >= 10);
    let seen = &net.committed_ids[4];
    assert_eq!(net.commits[4][..10], (1..=10).collect::<Vec<_>>());
    for v in 0..4 {
        // The observer lags by at most one proposal: its chain is a prefix of each validator's.
        let theirs = &net.committed_ids[v];
        let common = seen.len().min(theirs.len());
        assert!(common >= 9, "validator {v} committed {}", theirs.len());
        assert_eq!(seen[..common], theirs[..common], "validator {v}");
    }
    let observer = &net.nodes[4];
    assert!(observer.is_observer());
    assert_eq!(observer.me(), None);
    let m = observer.metrics();
    assert_eq!(
        (m.proposals_sent, m.votes_sent, m.timeouts_sent, m.rejected),
        (0, 0, 0, 0)
    );
    let mut validated = 0;
    for (i, a) in net.log.iter().filter(|(i, _)| *i == 4) {
        match a {
            Action::Send { .. }
            | Action::Broadcast { .. }
            | Action::PersistSafety(_)
            | Action::PersistBlock { .. }
            | Action::RequestPayload { .. } => panic!("observer {i} acted as a validator: {a:?}"),
            Action::ValidateBlock { .. } => validated += 1,
            _ => {}
        }
    }
    // It replays the proposals it sees (the node executes them before they commit).
    assert!(validated >= 10, "validated {validated}");
}

#[test]
fn an_observer_never_times_out_and_advances_through_tcs() {
    let n = 4;
    let k = keys(n);
    let mut c = observer(n);
    let out = c.handle(10_000, Event::Start);
    assert!(matches!(
        out[..],
        [Action::SetTimer {
            timer: Timer::Round(1),
            ..
        }]
    ));
    // Its round timer only re-arms: no signed timeout, nothing persisted.
    let out = c.handle(20_000, Event::TimerFired(Timer::Round(1)));
    assert!(
        out.iter()
            .all(|a| matches!(a, Action::SetTimer { .. } | Action::FetchBlocks { .. })),
        "{out:?}"
    );
    assert_eq!(c.round(), 1);
    assert_eq!(c.metrics().timeouts_sent, 0);
    // Validators timed out round 1; the leader of round 2 proposes with their TC.
    let g = config().genesis_block();
    let tc1 = tc_for(&k, &[(0, 0), (1, 0), (3, 0)], 1, Qc::genesis(g.id()));
    let mut b2 = child(&g, Qc::genesis(g.id()), 2, n, b"tx");
    b2.tc = Some(tc1);
    let out = c.handle(
        20_001,
        Event::Message {
            from: ValidatorIndex(2),
            message: Message::Proposal(propose(&k, b2.clone())),
        },
    );
    assert_eq!(c.round(), 2);
    assert!(out.iter().any(|a| matches!(
        a,
        Action::ValidateBlock { block_id, .. } if *block_id == b2.id()
    )));
    // A valid verdict still gets no vote.
    let out = c.handle(
        20_002,
        Event::BlockValidated {
            block_id: b2.id(),
            valid: true,
        },
    );
    assert!(out.is_empty(), "{out:?}");
    // A timeout sent to it by mistake is neither joined nor answered.
    let out = c.handle(
        20_003,
        Event::Message {
            from: ValidatorIndex(1),
            message: sample_messages()[3].clone(),
        },
    );
    assert!(
        out.iter()
            .all(|a| !matches!(a, Action::Send { .. } | Action::Broadcast { .. })),
        "{out:?}"
    );
}

#[test]
fn an_observer_fetches_from_every_validator_in_turn() {
    let n = 4;
    let k = keys(n);
    let chain = certified_chain(&k, n, 12);
    let mut c = observer(n);
    let tip = child(&chain[10].0, chain[10].1.clone(), 12, n, b"tx");
    let tip = propose(&k, tip);
    let from = ValidatorIndex(0);
    let mut asked = Vec::new();
    let mut out = c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(tip),
        },
    );
    // Validator 0 is the first validator's index, not "me": it is asked, then the others.
    for _ in 0..5 {
        let Some(peer) = out.iter().find_map(|a| match a {
            Action::FetchBlocks { from, .. } => Some(*from),
            _ => None,
        }) else {
            break;
        };
        asked.push(peer.0);
        out = c.handle(
            10_001,
            Event::BlocksFetched {
                from: peer,
                blocks: Vec::new(),
            },
        );
    }
    assert_eq!(asked, [0, 1, 2, 3, 0]);
    // Forward sync from a validator: the observer commits the certified chain.
    let out = c.handle(
        10_002,
        Event::ChainFetched {
            from: ValidatorIndex(1),
            blocks: chain[..11].to_vec(),
        },
    );
    let committed: Vec<u64> = out
        .iter()
        .filter_map(|a| match a {
            Action::Commit { blocks, .. } => Some(blocks.iter().map(|(_, b)| b.height)),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(committed, (1..=10).collect::<Vec<_>>());
    assert!(
        out.iter()
            .all(|a| !matches!(a, Action::Send { .. } | Action::Broadcast { .. }))
    );
}

#[test]
fn restarted_validator_resends_its_vote_and_never_signs_another() {
    let n = 4;
    let k = keys(n);
    let g = config().genesis_block();
    let b1 = child(&g, Qc::genesis(g.id()), 1, n, b"tx");
    let p1 = propose(&k, b1.clone());
    // Validator 3 votes in round 1 and sends to the leader of round 2 (validator 2).
    let mut c = core(n, 3);
    let mut persisted = None;
    let mut votes = Vec::new();
    let run = |c: &mut TestCore,
               ev: Event,
               persisted: &mut Option<SafetyData>,
               votes: &mut Vec<Vote>| {
        let mut q = VecDeque::from([ev]);
        while let Some(ev) = q.pop_front() {
            for a in c.handle(10_000, ev) {
                match a {
                    Action::PersistSafety(d) => *persisted = Some(*d),
                    Action::ValidateBlock { block_id, .. } => q.push_back(Event::BlockValidated {
                        block_id,
                        valid: true,
                    }),
                    Action::Send {
                        message: Message::Vote(v),
                        ..
                    } => votes.push(v),
                    _ => {}
                }
            }
        }
    };
    let msg = |p: &Proposal| Event::Message {
        from: ValidatorIndex(1),
        message: Message::Proposal(p.clone()),
    };
    run(&mut c, msg(&p1), &mut persisted, &mut votes);
    assert_eq!(votes.len(), 1);
    // Restart from the persisted safety data only (genesis root, no pending blocks).
    let data = persisted.clone().unwrap();
    let mut c = Core::new(
        config(),
        ValidatorSet::equal(0, n).unwrap(),
        ValidatorIndex(3),
        k.signer(ValidatorIndex(3)).unwrap(),
        k.clone(),
        Recovered {
            root: Root::genesis(&config()),
            safety: data,
            blocks: Vec::new(),
        },
    )
    .unwrap();
    // The same proposal again: the very same vote is re-sent, not a new signature.
    run(&mut c, msg(&p1), &mut persisted, &mut votes);
    assert_eq!(votes.len(), 2);
    assert_eq!(votes[0], votes[1]);
    // A conflicting proposal for round 1 (an equivocating leader) gets no vote.
    let mut b1x = b1.clone();
    b1x.payload = b"other".to_vec();
    run(&mut c, msg(&propose(&k, b1x)), &mut persisted, &mut votes);
    assert_eq!(votes.len(), 2);
}

#[test]
fn hostile_messages_are_rejected_with_a_reason() {
    let n = 4;
    let k = keys(n);
    let mut c = core(n, 0);
    let g = config().genesis_block();
    let from = ValidatorIndex(3);
    let reasons = |c: &mut TestCore, m: Message| -> Vec<RejectReason> {
        c.handle(10_000, Event::Message { from, message: m })
            .into_iter()
            .filter_map(|a| match a {
                Action::Reject { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    };
    // Wrong leader.
    let mut b = child(&g, Qc::genesis(g.id()), 1, n, b"");
    b.proposer = ValidatorIndex(2);
    let r = reasons(&mut c, Message::Proposal(propose(&k, b)));
    assert!(matches!(r[..], [RejectReason::WrongLeader { .. }]));
    // Bad signature.
    let mut p = propose(&k, child(&g, Qc::genesis(g.id()), 1, n, b""));
    p.signature = SigBytes(vec![0; 32]);
    assert_eq!(
        reasons(&mut c, Message::Proposal(p)),
        vec![RejectReason::BadSignature]
    );
    // A QC without quorum.
    let b1 = child(&g, Qc::genesis(g.id()), 1, n, b"");
    let weak = qc_for(&k, &[0, 1], b1.id(), 1, 1);
    let b2 = child(&b1, weak, 2, n, b"");
    let r = reasons(&mut c, Message::Proposal(propose(&k, b2)));
    assert_eq!(r, vec![RejectReason::InvalidQc(CertError::NoQuorum)]);
    // A round skipped without a TC.
    let qc1 = qc_for(&k, &[0, 1, 2], b1.id(), 1, 1);
    let skip = child(&b1, qc1.clone(), 3, n, b"");
    assert!(matches!(
        reasons(&mut c, Message::Proposal(propose(&k, skip)))[..],
        [RejectReason::Malformed(_)]
    ));
    // Votes from strangers, with bad signatures, far in the future.
    let mut v = Vote {
        block_id: b1.id(),
        round: 1,
        height: 1,
        voter: ValidatorIndex(9),
        signature: SigBytes(vec![0; 32]),
    };
    assert_eq!(
        reasons(&mut c, Message::Vote(v.clone())),
        vec![RejectReason::UnknownValidator(ValidatorIndex(9))]
    );
    v.voter = ValidatorIndex(1);
    assert_eq!(
        reasons(&mut c, Message::Vote(v.clone())),
        vec![RejectReason::BadSignature]
    );
    v.round = 10_000;
    assert!(matches!(
        reasons(&mut c, Message::Vote(v))[..],
        [RejectReason::FutureRound { .. }]
    ));
    // A timeout whose round its certificates do not justify.
    let t = TimeoutMsg {
        round: 7,
        high_qc: qc1,
        last_tc: None,
        sender: ValidatorIndex(1),
        signature: SigBytes(vec![0; 32]),
    };
    assert_eq!(
        reasons(&mut c, Message::Timeout(t)),
        vec![RejectReason::UnjustifiedRound(7)]
    );
    assert_eq!(c.round(), 1, "nothing hostile moved the round");
    // Unrequested blocks.
    let r: Vec<_> = c
        .handle(
            10_000,
            Event::BlocksFetched {
                from,
                blocks: vec![Arc::new(b1)],
            },
        )
        .into_iter()
        .filter(|a| matches!(a, Action::Reject { .. }))
        .collect();
    assert_eq!(r.len(), 1);
}

#[test]
fn equivocating_leader_is_reported_with_both_proposals() {
    let n = 4;
    let k = keys(n);
    let g = config().genesis_block();
    let a = propose(&k, child(&g, Qc::genesis(g.id()), 1, n, b"a"));
    let b = propose(&k, child(&g, Qc::genesis(g.id()), 1, n, b"b"));
    let mut c = core(n, 3);
    let from = ValidatorIndex(1);
    c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(a.clone()),
        },
    );
    let out = c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(b.clone()),
        },
    );
    let ev: Vec<_> = out
        .into_iter()
        .filter_map(|x| match x {
            Action::ReportEquivocation(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        ev,
        vec![Equivocation::Proposal {
            first: a,
            second: b
        }]
    );
    assert_eq!(c.evidence().len(), 1);
    assert_eq!(c.evidence()[0].culprit(), ValidatorIndex(1));
}

#[test]
fn empty_block_policy() {
    // Validator 1 leads round 1. With nothing to commit and an empty payload it waits for the
    // empty-block timer, then proposes.
    let mut c = core(4, 1);
    let out = c.handle(10_000, Event::Start);
    let round_timer = out.iter().find_map(|a| match a {
        Action::SetTimer {
            timer: Timer::Round(1),
            deadline_ms,
        } => Some(*deadline_ms),
        _ => None,
    });
    // Idle chain: round timer = 1 s + the 1 s the leader may wait.
    assert_eq!(round_timer, Some(12_000));
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RequestPayload { round: 1, .. }))
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::SetTimer {
            timer: Timer::EmptyBlock(1),
            deadline_ms: 11_000
        }
    )));
    let empty = Event::PayloadReady {
        round: 1,
        payload: Vec::new(),
        app_header: Vec::new(),
        timestamp_ms: None,
    };
    let out = c.handle(10_100, empty);
    assert!(
        !out.iter().any(|a| matches!(a, Action::Broadcast { .. })),
        "waits"
    );
    let out = c.handle(11_000, Event::TimerFired(Timer::EmptyBlock(1)));
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Broadcast {
            message: Message::Proposal(_)
        }
    )));

    // Transactions arriving during the wait are proposed at once.
    let mut c = core(4, 1);
    c.handle(10_000, Event::Start);
    c.handle(
        10_000,
        Event::PayloadReady {
            round: 1,
            payload: Vec::new(),
            app_header: Vec::new(),
            timestamp_ms: None,
        },
    );
    let out = c.handle(
        10_200,
        Event::PayloadReady {
            round: 1,
            payload: b"tx".to_vec(),
            app_header: Vec::new(),
            timestamp_ms: None,
        },
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Broadcast {
            message: Message::Proposal(p)
        } if p.block.payload == b"tx"
    )));

    // A parent with transactions needs children to commit: its successor proposes at once.
    // Round 1 carries a payload (leader 1 gets b"tx"); later leaders have nothing.
    let mut c1 = core(4, 1);
    c1.handle(10_000, Event::Start);
    let out = c1.handle(
        10_000,
        Event::PayloadReady {
            round: 1,
            payload: b"tx".to_vec(),
            app_header: Vec::new(),
            timestamp_ms: None,
        },
    );
    let p1 = out
        .iter()
        .find_map(|a| match a {
            Action::Broadcast {
                message: Message::Proposal(p),
            } => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let k = keys(4);
    let qc1 = qc_for(&k, &[0, 1, 3], p1.block.id(), 1, 1);
    // Validator 2 leads round 2: it learns B1 and its QC, and must not wait.
    let mut c2 = core(4, 2);
    c2.handle(10_000, Event::Start);
    c2.handle(
        10_001,
        Event::Message {
            from: ValidatorIndex(1),
            message: Message::Proposal(p1),
        },
    );
    let out = c2.handle(
        10_002,
        Event::Message {
            from: ValidatorIndex(0),
            message: Message::Sync(SyncInfo {
                high_qc: qc1,
                high_tc: None,
            }),
        },
    );
    assert_eq!(c2.round(), 2);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RequestPayload { round: 2, .. }))
    );
    assert!(!out.iter().any(|a| matches!(
        a,
        Action::SetTimer {
            timer: Timer::EmptyBlock(_),
            ..
        }
    )));
    let out = c2.handle(
        10_003,
        Event::PayloadReady {
            round: 2,
            payload: Vec::new(),
            app_header: Vec::new(),
            timestamp_ms: None,
        },
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Broadcast {
            message: Message::Proposal(_)
        }
    )));
}

#[test]
fn round_timer_backs_off_and_is_capped() {
    let mut c = core(4, 0);
    c.handle(0, Event::Start);
    let mut durations = Vec::new();
    let mut now = 0;
    for _ in 0..12 {
        // Time out alone, then receive a TC for the current round from the others.
        let round = c.round();
        let out = c.handle(now, Event::TimerFired(Timer::Round(round)));
        assert!(out.iter().any(|a| matches!(
            a,
            Action::Broadcast {
                message: Message::Timeout(_)
            }
        )));
        let k = keys(4);
        let gqc = Qc::genesis(genesis_id());
        let last_tc = c.high_tc().cloned().filter(|tc| tc.round + 1 == round);
        for v in 1..3u32 {
            let signature = k
                .signer(ValidatorIndex(v))
                .unwrap()
                .sign(&domain().timeout_bytes(round, 0));
            let t = TimeoutMsg {
                round,
                high_qc: gqc.clone(),
                last_tc: last_tc.clone(),
                sender: ValidatorIndex(v),
                signature,
            };
            let out = c.handle(
                now,
                Event::Message {
                    from: ValidatorIndex(v),
                    message: Message::Timeout(t),
                },
            );
            for a in out {
                if let Action::SetTimer {
                    timer: Timer::Round(r),
                    deadline_ms,
                } = a
                    && r == round + 1
                {
                    durations.push(deadline_ms - now);
                }
            }
        }
        assert_eq!(c.round(), round + 1);
        now += 100;
    }
    // Idle chain: + 1 s empty-block allowance on top of 1 s x 1.5^k, capped at 10 s.
    assert_eq!(durations[..5], [2_500, 3_250, 4_375, 6_062, 8_593]);
    assert!(durations.iter().all(|d| *d <= 11_000));
    assert_eq!(*durations.last().unwrap(), 11_000);
}

#[test]
fn unknown_parent_is_fetched_then_voted_for() {
    let n = 4;
    let k = keys(n);
    let g = config().genesis_block();
    let b1 = child(&g, Qc::genesis(g.id()), 1, n, b"tx");
    let qc1 = qc_for(&k, &[0, 1, 3], b1.id(), 1, 1);
    let b2 = child(&b1, qc1, 2, n, b"tx");
    let mut c = core(n, 0);
    let from = ValidatorIndex(2);
    let out = c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(propose(&k, b2.clone())),
        },
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::FetchBlocks { from: f, block_id, stop_height: 0 } if *f == from && *block_id == b1.id()
    )));
    assert_eq!(c.orphan_count(), 1);
    let out = c.handle(
        10_001,
        Event::BlocksFetched {
            from,
            blocks: vec![Arc::new(b1.clone())],
        },
    );
    assert_eq!(c.orphan_count(), 0);
    // Validation is asked for the proposal (round 2, the current one), not for the fetched parent.
    let asked: Vec<_> = out
        .iter()
        .filter_map(|a| match a {
            Action::ValidateBlock { block_id, .. } => Some(*block_id),
            _ => None,
        })
        .collect();
    assert_eq!(asked, vec![b2.id()]);
    let out = c.handle(
        10_002,
        Event::BlockValidated {
            block_id: b2.id(),
            valid: true,
        },
    );
    let kinds: Vec<&str> = out
        .iter()
        .map(|a| match a {
            Action::PersistBlock { .. } => "block",
            Action::PersistSafety(_) => "safety",
            Action::Send { .. } => "send",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["block", "safety", "send"]);
    // An invalid verdict gets no vote.
    let mut c = core(n, 0);
    c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(propose(&k, b1.clone())),
        },
    );
    let out = c.handle(
        10_001,
        Event::BlockValidated {
            block_id: b1.id(),
            valid: false,
        },
    );
    assert!(out.is_empty());
    assert_eq!(c.safety_data().last_voted_round, 0);
}

#[test]
fn extreme_values_never_panic() {
    // Structurally plausible messages with boundary numbers, fed to a core in every order: the
    // core may reject them but must not panic (overflow included).
    let n = 4;
    let k = keys(n);
    let g = config().genesis_block();
    let mut rng = Rng::new(5);
    let pick = |rng: &mut Rng| -> u64 {
        match rng.below(6) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::MAX - 1,
            4 => rng.below(8),
            _ => rng.next_u64(),
        }
    };
    let mut c = core(n, 0);
    for i in 0..20_000 {
        let block_id = if rng.chance(500) {
            g.id()
        } else {
            BlockId([rng.next_u64() as u8; 32])
        };
        let signers: Vec<u32> = (0..rng.below(6) as u32).map(|v| v % 5).collect();
        let mut signers = signers;
        signers.sort();
        signers.dedup();
        let signers: Vec<u32> = signers.into_iter().filter(|v| *v < 4).collect();
        let qc = qc_for(&k, &signers, block_id, pick(&mut rng), pick(&mut rng));
        let tc = Tc {
            round: pick(&mut rng),
            high_qc: qc.clone(),
            signatures: Vec::new(),
        };
        let message = match i % 4 {
            0 => {
                let b = Block {
                    height: pick(&mut rng),
                    round: pick(&mut rng),
                    parent: qc.block_id,
                    timestamp_ms: pick(&mut rng),
                    proposer: ValidatorIndex(rng.below(6) as u32),
                    payload: Vec::new(),
                    app_header: Vec::new(),
                    justify: qc,
                    tc: rng.chance(500).then_some(tc),
                };
                let p = if b.proposer.0 < 4 {
                    propose(&k, b)
                } else {
                    Proposal {
                        block: Arc::new(b),
                        signature: SigBytes(Vec::new()),
                    }
                };
                Message::Proposal(p)
            }
            1 => Message::Vote(Vote {
                block_id,
                round: pick(&mut rng),
                height: pick(&mut rng),
                voter: ValidatorIndex(rng.below(6) as u32),
                signature: SigBytes(vec![0; 32]),
            }),
            2 => Message::Timeout(TimeoutMsg {
                round: pick(&mut rng),
                high_qc: qc,
                last_tc: rng.chance(500).then_some(tc),
                sender: ValidatorIndex(rng.below(6) as u32),
                signature: SigBytes(vec![0; 32]),
            }),
            _ => Message::Sync(SyncInfo {
                high_qc: qc,
                high_tc: rng.chance(500).then_some(tc),
            }),
        };
        let from = ValidatorIndex(rng.below(6) as u32);
        c.handle(pick(&mut rng), Event::Message { from, message });
        if i % 97 == 0 {
            c.handle(pick(&mut rng), Event::TimerFired(Timer::Round(c.round())));
        }
    }
}

/// A certified chain of `len` blocks in consecutive rounds from genesis: `(block, its QC)`.
fn certified_chain(k: &TestKeys, n: usize, len: u64) -> Vec<(Arc<Block>, Qc)> {
    let mut out: Vec<(Arc<Block>, Qc)> = Vec::new();
    let mut parent = config().genesis_block();
    let mut justify = Qc::genesis(parent.id());
    for r in 1..=len {
        let b = child(&parent, justify, r, n, b"tx");
        let qc = qc_for(k, &[0, 1, 2], b.id(), r, b.height);
        justify = qc.clone();
        parent = b.clone();
        out.push((Arc::new(b), qc));
    }
    out
}

#[test]
fn forward_sync_commits_certified_ranges_and_asks_for_the_next() {
    let n = 4;
    let k = keys(n);
    let chain = certified_chain(&k, n, 600);
    let mut c = core(n, 3);
    let from = ValidatorIndex(1);
    // A proposal far ahead: its parent is unknown, so the core fetches it.
    let tip = child(&chain[598].0, chain[598].1.clone(), 600, n, b"tx");
    let tip = propose(&k, Block { round: 600, ..tip });
    let out = c.handle(
        10_000,
        Event::Message {
            from,
            message: Message::Proposal(tip),
        },
    );
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::FetchBlocks { stop_height: 0, .. }))
    );

    // The peer answers with the first 256 committed blocks and their QCs.
    let out = c.handle(
        10_001,
        Event::ChainFetched {
            from,
            blocks: chain[..256].to_vec(),
        },
    );
    let committed: Vec<u64> = out
        .iter()
        .filter_map(|a| match a {
            Action::Commit { blocks, .. } => Some(blocks.iter().map(|(_, b)| b.height)),
            _ => None,
        })
        .flatten()
        .collect();
    // Consecutive rounds: everything but the last block is final at once.
    assert_eq!(committed, (1..=255).collect::<Vec<_>>());
    assert_eq!(c.root().block.height, 255);
    // ... and the core asks the same peer for the next range, from its new root.
    assert!(out.iter().any(|a| matches!(
        a,
        Action::FetchBlocks { from: f, stop_height: 255, .. } if *f == from
    )));

    // A forged QC in the next range is refused and nothing after it is taken.
    let mut forged = chain[256..300].to_vec();
    forged[0].1.signatures[0].1 = SigBytes(vec![0; 32]);
    let out = c.handle(
        10_002,
        Event::ChainFetched {
            from,
            blocks: forged,
        },
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Reject {
            reason: RejectReason::InvalidQc(_),
            ..
        }
    )));
    assert_eq!(c.root().block.height, 255);

    // A QC of another block is malformed; blocks not linked to the tree are ignored.
    let mut swapped = chain[256..258].to_vec();
    swapped[0].1 = chain[257].1.clone();
    let out = c.handle(
        10_003,
        Event::ChainFetched {
            from,
            blocks: swapped,
        },
    );
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Reject {
            reason: RejectReason::Malformed(_),
            ..
        }
    )));
    c.handle(
        10_004,
        Event::ChainFetched {
            from,
            blocks: chain[300..310].to_vec(),
        },
    );
    assert_eq!(c.root().block.height, 255);

    // The rest arrives: the core reaches the tip's parent.
    c.handle(
        10_005,
        Event::ChainFetched {
            from,
            blocks: chain[255..511].to_vec(),
        },
    );
    c.handle(
        10_006,
        Event::ChainFetched {
            from,
            blocks: chain[511..].to_vec(),
        },
    );
    assert_eq!(c.root().block.height, 598);
    assert_eq!(c.orphan_count(), 0);
}

#[test]
fn payload_timestamp_sets_the_block_time_without_moving_the_clock() {
    let n = 4;
    let mut c = core(n, 1);
    let out = c.handle(10_000, Event::Start);
    assert!(
        out.iter()
            .any(|a| matches!(a, Action::RequestPayload { round: 1, .. }))
    );
    let out = c.handle(
        10_000,
        Event::PayloadReady {
            round: 1,
            payload: b"tx".to_vec(),
            app_header: Vec::new(),
            timestamp_ms: Some(12_345),
        },
    );
    let proposed = out.iter().find_map(|a| match a {
        Action::Broadcast {
            message: Message::Proposal(p),
        } => Some(p.block.timestamp_ms),
        _ => None,
    });
    assert_eq!(proposed, Some(12_345));
    // The round timer still counts from the real clock (10,000), not from the block time.
    let timer = out.iter().find_map(|a| match a {
        Action::SetTimer { deadline_ms, .. } => Some(*deadline_ms),
        _ => None,
    });
    assert!(timer.is_none_or(|d| d < 12_345 + 1_000));
}
