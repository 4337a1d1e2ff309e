//! The RFC 6962 Merkle log against an independent reference: the recursive MTH / PATH / PROOF
//! definitions of RFC 6962 section 2.1 written out below, plus published Certificate
//! Transparency test vectors. Every tree size 1..=70, every index and every pair of sizes.

use std::cell::Cell;

use maat_crypto::Hash32;
use maat_crypto::merkle::{
    EMPTY_ROOT, Frontier, MemoryNodeStore, MerkleError, MerkleLog, NodeId, NodeStore, OutOfOrder,
    ProofError, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
use sha2::{Digest as _, Sha256};

const MAX: usize = 70;

// ---------------------------------------------------------------------------------------------
// Reference: RFC 6962 section 2.1, transcribed literally (hashing written out, not imported).

fn ref_sha256(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    Hash32(h.finalize().into())
}

/// "k is the largest power of 2 smaller than n".
fn ref_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]).
fn mth(d: &[Vec<u8>]) -> Hash32 {
    match d.len() {
        0 => ref_sha256(&[]),
        1 => ref_sha256(&[&[0x00], &d[0]]),
        n => {
            let k = ref_k(n);
            let (l, r) = (mth(&d[..k]), mth(&d[k..]));
            ref_sha256(&[&[0x01], &l.0, &r.0])
        }
    }
}

/// PATH(m, D[n]).
fn path(m: usize, d: &[Vec<u8>]) -> Vec<Hash32> {
    let n = d.len();
    if n == 1 {
        return vec![];
    }
    let k = ref_k(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn proof(m: usize, d: &[Vec<u8>]) -> Vec<Hash32> {
    subproof(m, d, true)
}

fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<Hash32> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = ref_k(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn entries(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("entry {i} {}", "x".repeat(i % 5)).into_bytes())
        .collect()
}

fn full_log(d: &[Vec<u8>]) -> MerkleLog<MemoryNodeStore> {
    let mut log = MerkleLog::new();
    for (i, e) in d.iter().enumerate() {
        assert_eq!(log.append(e).unwrap(), i as u64);
    }
    log
}

fn flip(h: &Hash32, bit: usize) -> Hash32 {
    let mut out = *h;
    out.0[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

// ---------------------------------------------------------------------------------------------

#[test]
fn hashing_primitives_match_the_reference() {
    assert_eq!(EMPTY_ROOT, ref_sha256(&[]));
    assert_eq!(leaf_hash(b"abc"), ref_sha256(&[&[0], b"abc"]));
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    assert_eq!(node_hash(&a, &b), ref_sha256(&[&[1], &a.0, &b.0]));
    assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    assert_eq!(MerkleLog::new().root(), EMPTY_ROOT);
}

#[test]
fn roots_agree_with_reference_for_every_size() {
    let d = entries(MAX);
    let mut log = MerkleLog::new();
    let mut frontier = Frontier::new();
    for n in 1..=MAX {
        log.append(&d[n - 1]).unwrap();
        frontier.push(leaf_hash(&d[n - 1])).unwrap();
        let want = mth(&d[..n]);
        assert_eq!(log.root(), want, "root at size {n}");
        assert_eq!(frontier.root(), want, "frontier root at size {n}");
        assert_eq!(log.size(), n as u64);
    }
    for n in 0..=MAX {
        assert_eq!(log.root_at(n as u64).unwrap(), mth(&d[..n]), "root_at({n})");
    }
    for (i, e) in d.iter().enumerate() {
        assert_eq!(log.leaf_hash_at(i as u64).unwrap(), leaf_hash(e));
    }
}

#[test]
fn inclusion_proofs_for_every_size_and_index() {
    let d = entries(MAX);
    let log = full_log(&d);
    let mut checked = 0;
    for n in 1..=MAX {
        let root = mth(&d[..n]);
        for m in 0..n {
            let p = log.inclusion_proof(m as u64, n as u64).unwrap();
            assert_eq!(p, path(m, &d[..n]), "PATH({m}, D[{n}])");
            let leaf = leaf_hash(&d[m]);
            verify_inclusion(&leaf, m as u64, n as u64, &p, &root)
                .unwrap_or_else(|e| panic!("inclusion {m}/{n}: {e}"));
            checked += 1;
        }
    }
    assert_eq!(checked, MAX * (MAX + 1) / 2);
}

#[test]
fn consistency_proofs_for_every_pair_of_sizes() {
    let d = entries(MAX);
    let log = full_log(&d);
    for n in 1..=MAX {
        let new_root = mth(&d[..n]);
        for m in 0..=n {
            let old_root = mth(&d[..m]);
            let p = log.consistency_proof(m as u64, n as u64).unwrap();
            if m == 0 {
                assert!(p.is_empty());
            } else {
                assert_eq!(p, proof(m, &d[..n]), "PROOF({m}, D[{n}])");
            }
            verify_consistency(m as u64, n as u64, &old_root, &new_root, &p)
                .unwrap_or_else(|e| panic!("consistency {m}->{n}: {e}"));
        }
    }
}

#[test]
fn tampered_inclusion_proofs_are_rejected() {
    let d = entries(MAX);
    let log = full_log(&d);
    let roots: Vec<Hash32> = (0..=MAX).map(|n| mth(&d[..n])).collect();
    for n in 1..=MAX {
        let (n64, root) = (n as u64, roots[n]);
        for (m, entry) in d[..n].iter().enumerate() {
            let m64 = m as u64;
            let p = log.inclusion_proof(m64, n64).unwrap();
            let leaf = leaf_hash(entry);
            let rejected = |leaf: &Hash32, m: u64, n: u64, p: &[Hash32], root: &Hash32| {
                verify_inclusion(leaf, m, n, p, root).is_err()
            };
            // A flipped bit anywhere in the proof, the leaf or the root.
            for (i, _) in p.iter().enumerate() {
                for bit in [0, 77, 255] {
                    let mut t = p.clone();
                    t[i] = flip(&t[i], bit);
                    assert!(
                        rejected(&leaf, m64, n64, &t, &root),
                        "flip {i}:{bit} {m}/{n}"
                    );
                }
            }
            assert!(rejected(&flip(&leaf, 3), m64, n64, &p, &root));
            assert!(rejected(&leaf, m64, n64, &p, &flip(&root, 200)));
            // Every other index, including out of range ones.
            for wrong in (0..n + 2).filter(|&w| w != m) {
                assert!(
                    rejected(&leaf, wrong as u64, n64, &p, &root),
                    "index {wrong} for {m}/{n}"
                );
            }
            // Every other size, each with its own root. (Paired with root(n) instead, a proof can
            // fit another size: leaf 0 of 3 reads as leaf 0 of 4 whose right subtree hash is
            // leaf 2's, and vice versa. RFC 9162 binds size and root through the signed tree
            // head, so a verifier must take both from the same head.)
            for wrong in (0..=MAX).filter(|&s| s != n) {
                assert!(
                    rejected(&leaf, m64, wrong as u64, &p, &roots[wrong]),
                    "size {wrong} for {m}/{n}"
                );
            }
            // Truncated at either end, extended at either end.
            if !p.is_empty() {
                assert!(rejected(&leaf, m64, n64, &p[..p.len() - 1], &root));
                assert!(rejected(&leaf, m64, n64, &p[1..], &root));
            }
            let mut ext = p.clone();
            ext.push(root);
            assert_eq!(
                verify_inclusion(&leaf, m64, n64, &ext, &root),
                Err(ProofError::ProofTooLong)
            );
            let mut pre = vec![leaf];
            pre.extend_from_slice(&p);
            assert!(rejected(&leaf, m64, n64, &pre, &root));
            // Swapping two distinct path elements.
            if p.len() >= 2 {
                let mut s = p.clone();
                s.swap(0, 1);
                assert!(rejected(&leaf, m64, n64, &s, &root));
            }
        }
    }
}

#[test]
fn tampered_consistency_proofs_are_rejected() {
    let d = entries(MAX);
    let log = full_log(&d);
    let roots: Vec<Hash32> = (0..=MAX).map(|n| mth(&d[..n])).collect();
    for n in 2..=MAX {
        for m in 1..n {
            let (m64, n64) = (m as u64, n as u64);
            let (old, new) = (roots[m], roots[n]);
            let p = log.consistency_proof(m64, n64).unwrap();
            assert!(!p.is_empty());
            let rejected = |m: u64, n: u64, old: &Hash32, new: &Hash32, p: &[Hash32]| {
                verify_consistency(m, n, old, new, p).is_err()
            };
            for (i, _) in p.iter().enumerate() {
                for bit in [0, 130, 255] {
                    let mut t = p.clone();
                    t[i] = flip(&t[i], bit);
                    assert!(
                        rejected(m64, n64, &old, &new, &t),
                        "flip {i}:{bit} {m}->{n}"
                    );
                }
            }
            assert!(rejected(m64, n64, &flip(&old, 9), &new, &p));
            assert!(rejected(m64, n64, &old, &flip(&new, 9), &p));
            assert!(rejected(n64, m64, &new, &old, &p), "swapped {m}->{n}");
            // Other sizes with their own roots (see the inclusion test for why the roots change
            // along with the sizes).
            for wrong in (0..=MAX).filter(|&s| s != m) {
                assert!(
                    rejected(wrong as u64, n64, &roots[wrong], &new, &p),
                    "old size {wrong} for {m}->{n}"
                );
            }
            for wrong in (0..=MAX).filter(|&s| s != n) {
                assert!(
                    rejected(m64, wrong as u64, &old, &roots[wrong], &p),
                    "new size {wrong} for {m}->{n}"
                );
            }
            assert!(rejected(m64, n64, &old, &new, &p[..p.len() - 1]));
            assert!(rejected(m64, n64, &old, &new, &p[1..]));
            assert!(rejected(m64, n64, &old, &new, &[]));
            let mut ext = p.clone();
            ext.push(new);
            assert!(rejected(m64, n64, &old, &new, &ext));
            let mut pre = vec![old];
            pre.extend_from_slice(&p);
            assert!(rejected(m64, n64, &old, &new, &pre));
            if p.len() >= 2 && p[0] != p[1] {
                let mut s = p.clone();
                s.swap(0, 1);
                assert!(rejected(m64, n64, &old, &new, &s));
            }
        }
    }
}

#[test]
fn degenerate_consistency_cases() {
    let d = entries(8);
    let log = full_log(&d);
    let r4 = log.root_at(4).unwrap();
    let r5 = log.root_at(5).unwrap();
    assert_eq!(verify_consistency(4, 4, &r4, &r4, &[]), Ok(()));
    assert_eq!(
        verify_consistency(4, 4, &r4, &r5, &[]),
        Err(ProofError::NewRootMismatch)
    );
    assert_eq!(
        verify_consistency(4, 4, &r4, &r4, &[r4]),
        Err(ProofError::ProofTooLong)
    );
    assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &r5, &[]), Ok(()));
    assert_eq!(
        verify_consistency(0, 5, &r4, &r5, &[]),
        Err(ProofError::OldRootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 5, &EMPTY_ROOT, &r5, &[r4]),
        Err(ProofError::ProofTooLong)
    );
    assert_eq!(
        verify_consistency(5, 4, &r5, &r4, &[]),
        Err(ProofError::SizesOutOfOrder { old: 5, new: 4 })
    );
    assert_eq!(
        verify_consistency(4, 5, &r4, &r5, &[]),
        Err(ProofError::ProofTooShort)
    );
    assert_eq!(
        verify_inclusion(&leaf_hash(&d[0]), 0, 0, &[], &EMPTY_ROOT),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    // Huge sizes and indices are plain failures, not panics or overflows.
    for (i, n) in [
        (u64::MAX - 1, u64::MAX),
        (0, u64::MAX),
        (u64::MAX, u64::MAX),
    ] {
        assert!(verify_inclusion(&r4, i, n, &[r4; 3], &r5).is_err());
    }
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &r4, &r5, &[r4; 70]).is_err());
    assert!(verify_consistency(1 << 63, u64::MAX, &r4, &r5, &[r4; 3]).is_err());
}

#[test]
fn bogus_sizes_are_typed_errors() {
    let mut log = MerkleLog::new();
    assert!(matches!(
        log.inclusion_proof(0, 0),
        Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
    ));
    assert!(matches!(
        log.root_at(1),
        Err(MerkleError::SizeOutOfRange {
            size: 1,
            tree_size: 0
        })
    ));
    assert!(matches!(
        log.leaf_hash_at(0),
        Err(MerkleError::IndexOutOfRange { .. })
    ));
    assert_eq!(log.consistency_proof(0, 0).unwrap(), Vec::<Hash32>::new());
    for e in entries(5) {
        log.append(&e).unwrap();
    }
    assert!(matches!(
        log.inclusion_proof(5, 5),
        Err(MerkleError::IndexOutOfRange { index: 5, size: 5 })
    ));
    assert!(matches!(
        log.inclusion_proof(2, 6),
        Err(MerkleError::SizeOutOfRange {
            size: 6,
            tree_size: 5
        })
    ));
    assert!(matches!(
        log.inclusion_proof(u64::MAX, u64::MAX),
        Err(MerkleError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        log.consistency_proof(4, 3),
        Err(MerkleError::SizesOutOfOrder { old: 4, new: 3 })
    ));
    assert!(matches!(
        log.consistency_proof(3, 9),
        Err(MerkleError::SizeOutOfRange {
            size: 9,
            tree_size: 5
        })
    ));
    assert!(matches!(
        log.consistency_proof(u64::MAX, 2),
        Err(MerkleError::SizesOutOfOrder { .. })
    ));
    assert_eq!(log.consistency_proof(5, 5).unwrap(), Vec::<Hash32>::new());
}

/// Certificate Transparency's RFC 6962 test data (leaves and tree heads as published with the
/// CT reference implementations): an oracle that owes nothing to this crate or the reference
/// above.
#[test]
fn certificate_transparency_vectors() {
    let leaves: Vec<Vec<u8>> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| hex::decode(h).unwrap())
    .collect();
    let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let h = |s: &str| s.parse::<Hash32>().unwrap();
    let log = full_log(&leaves);
    for (n, want) in roots.iter().enumerate() {
        assert_eq!(log.root_at(n as u64).unwrap(), h(want), "CT root {n}");
    }
    let inclusion: [(u64, u64, [&str; 3]); 2] = [
        (
            0,
            8,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, n, want) in inclusion {
        let want: Vec<Hash32> = want.iter().map(|s| h(s)).collect();
        assert_eq!(log.inclusion_proof(m, n).unwrap(), want);
        let leaf = leaf_hash(&leaves[m as usize]);
        verify_inclusion(&leaf, m, n, &want, &h(roots[n as usize])).unwrap();
    }
    let consistency: [(u64, u64, &[&str]); 2] = [
        (
            2,
            8,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (m, n, want) in consistency {
        let want: Vec<Hash32> = want.iter().map(|s| h(s)).collect();
        assert_eq!(log.consistency_proof(m, n).unwrap(), want);
        verify_consistency(m, n, &h(roots[m as usize]), &h(roots[n as usize]), &want).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Storage behaviour.

/// Counts reads and can be told to fail writes.
#[derive(Default)]
struct InstrumentedStore {
    inner: MemoryNodeStore,
    reads: Cell<usize>,
    fail_writes: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("injected write failure")]
struct Injected;

impl NodeStore for InstrumentedStore {
    type Error = Injected;
    fn tree_size(&self) -> Result<u64, Injected> {
        Ok(self.inner.tree_size().unwrap_or(0))
    }
    fn get(&self, id: NodeId) -> Result<Option<Hash32>, Injected> {
        self.reads.set(self.reads.get() + 1);
        Ok(self.inner.get(id).ok().flatten())
    }
    fn append(&mut self, new_size: u64, nodes: &[(NodeId, Hash32)]) -> Result<(), Injected> {
        if self.fail_writes {
            return Err(Injected);
        }
        self.inner.append(new_size, nodes).map_err(|_| Injected)
    }
}

#[test]
fn proofs_read_logarithmically_many_nodes() {
    let n = 1000u64;
    let mut log = MerkleLog::open(InstrumentedStore::default()).unwrap();
    let hashes: Vec<Hash32> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    log.append_leaf_hashes(&hashes).unwrap();
    let bound = |size: u64| 2 * (64 - size.leading_zeros() as usize) + 1;
    let reads = |log: &MerkleLog<InstrumentedStore>| log.store().reads.replace(0);
    reads(&log);
    let _ = log.root();
    assert_eq!(reads(&log), 0, "the current root needs no reads");
    for size in [1, 2, 3, 7, 64, 65, 511, 999, 1000] {
        for index in [0, size / 3, size / 2, size - 1] {
            log.inclusion_proof(index, size).unwrap();
            let r = reads(&log);
            assert!(r <= bound(size), "inclusion {index}/{size}: {r} reads");
        }
        for old in [1, size / 2, size - 1] {
            log.consistency_proof(old, size).unwrap();
            let r = reads(&log);
            assert!(r <= bound(size), "consistency {old}->{size}: {r} reads");
        }
        log.root_at(size).unwrap();
        assert!(reads(&log) <= bound(size));
    }
    // Only complete subtrees are stored: n leaves give n + (n - popcount(n)) nodes.
    assert_eq!(
        log.store().inner.node_count() as u64,
        2 * n - u64::from(n.count_ones())
    );
}

#[test]
fn reopening_a_store_continues_the_same_log() {
    let d = entries(37);
    let mut log = MerkleLog::new();
    for e in &d[..23] {
        log.append(e).unwrap();
    }
    let mut reopened = MerkleLog::open(log.into_store()).unwrap();
    assert_eq!(reopened.size(), 23);
    assert_eq!(reopened.root(), mth(&d[..23]));
    for e in &d[23..] {
        reopened.append(e).unwrap();
    }
    assert_eq!(reopened.root(), mth(&d));
    assert_eq!(reopened.inclusion_proof(5, 37).unwrap(), path(5, &d));
}

#[test]
fn batch_append_equals_single_appends_and_frontier_predicts_root() {
    let d = entries(45);
    let hashes: Vec<Hash32> = d.iter().map(|e| leaf_hash(e)).collect();
    let single = full_log(&d);
    let mut batched = MerkleLog::new();
    assert_eq!(batched.append_leaf_hashes(&hashes[..10]).unwrap(), 0);
    // Speculative root of the next block, without touching the log.
    let mut spec = batched.frontier().clone();
    for h in &hashes[10..] {
        spec.push(*h).unwrap();
    }
    assert_eq!(batched.size(), 10);
    assert_eq!(batched.append_leaf_hashes(&hashes[10..]).unwrap(), 10);
    assert_eq!(batched.append_leaf_hashes(&[]).unwrap(), 45);
    assert_eq!(spec.root(), single.root());
    assert_eq!(batched.root(), single.root());
    assert_eq!(batched.store().node_count(), single.store().node_count());
    for i in 0..45 {
        assert_eq!(
            batched.inclusion_proof(i, 45).unwrap(),
            single.inclusion_proof(i, 45).unwrap()
        );
    }
}

#[test]
fn failed_store_write_leaves_the_log_unchanged() {
    let mut log = MerkleLog::open(InstrumentedStore::default()).unwrap();
    log.append(b"a").unwrap();
    let root = log.root();
    let mut store = log.into_store();
    store.fail_writes = true;
    let mut log = MerkleLog::open(store).unwrap();
    assert!(matches!(log.append(b"b"), Err(MerkleError::Store(_))));
    assert_eq!(log.size(), 1);
    assert_eq!(log.root(), root);
}

#[test]
fn memory_store_rejects_out_of_order_nodes_atomically() {
    let mut s = MemoryNodeStore::new();
    let h = leaf_hash(b"x");
    let skip = NodeId { level: 0, index: 1 };
    assert_eq!(s.append(1, &[(skip, h)]), Err(OutOfOrder(skip)));
    let first = NodeId { level: 0, index: 0 };
    assert_eq!(
        s.append(1, &[(first, h), (skip, h), (skip, h)]),
        Err(OutOfOrder(skip))
    );
    assert_eq!(s.node_count(), 0);
    assert_eq!(s.tree_size(), Ok(0));
    // A store missing a node the size implies is reported, not trusted.
    let mut broken = MemoryNodeStore::new();
    broken.append(2, &[(first, h)]).unwrap();
    assert!(matches!(
        MerkleLog::open(broken),
        Err(MerkleError::MissingNode(NodeId { level: 1, index: 0 }))
    ));
}
