//! Canonical JSON (section 3.1) of the typed `maat-v1` model, and the digests of section 3.4.
//!
//! Keys are written in sorted order by hand (they are fixed), raw JSON members go through
//! [`CanonWriter::value`]. Each byte of the body is produced once: the sub-roots and the
//! `certificate_digest` are fed from the same writes through a tee into two hashers.

use sha2::{Digest, Sha256};

use crate::json::{CanonSink, CanonWriter, Value};

use super::model::{
    Certificate, EvidenceObject, Policy, Predicate, PredicateParams, Proof, ProofStep, Request,
};

/// The domain prefix of evidence signatures: the signed bytes are this followed by the 64
/// lowercase hex characters of the evidence hash.
pub const EVIDENCE_SIGNATURE_DOMAIN: &[u8] = maat_crypto::sig::domain::EVIDENCE;

/// The digests of a certificate (section 3.4, over the `maat-v1` body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digests {
    /// `H({"evidence", "policy", "proof", "request"})`; attestations are never part of it.
    pub certificate_digest: String,
    pub policy_root: String,
    pub evidence_root: String,
    pub proof_root: String,
    /// The recomputed hash of each evidence object, in input order.
    pub evidence_hashes: Vec<String>,
}

/// Feeds two hashers at once.
struct Tee<'a>(&'a mut Sha256, &'a mut Sha256);

impl CanonSink for Tee<'_> {
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
        self.1.update(bytes);
    }
}

fn hex_digest(h: Sha256) -> String {
    hex::encode(h.finalize())
}

/// `canon(value)` of one evidence object's `value`, computed once and spliced twice (hash
/// payload and evidence root).
fn value_bytes(obj: &EvidenceObject) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    write_object_members(&mut CanonWriter::new(&mut buf), &obj.value.entries);
    buf
}

/// Writes an object given as members (sorted here if needed) canonically.
fn write_object_members<S: CanonSink + ?Sized>(
    w: &mut CanonWriter<'_, S>,
    entries: &[(String, Value)],
) {
    let sorted = entries.windows(2).all(|p| match p {
        [a, b] => a.0.as_bytes() < b.0.as_bytes(),
        _ => true,
    });
    let mut refs: Vec<&(String, Value)> = entries.iter().collect();
    if !sorted {
        refs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    w.raw(b"{");
    for (n, (k, v)) in refs.into_iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        w.key(k);
        w.value(v);
    }
    w.raw(b"}");
}

fn write_str_list<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, items: &[String]) {
    w.raw(b"[");
    for (n, s) in items.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        w.string(s);
    }
    w.raw(b"]");
}

/// A list that section 3.3 sorts: written sorted even if a hand-built model is not.
fn write_sorted_str_list<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, items: &[String]) {
    if items.is_sorted() {
        write_str_list(w, items);
    } else {
        let mut sorted = items.to_vec();
        sorted.sort_unstable();
        write_str_list(w, &sorted);
    }
}

/// The members shared by the hash payload and the full object, up to `evidence_type`.
fn write_evidence_head<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, obj: &EvidenceObject) {
    w.raw(b"{\"dependencies\":");
    write_sorted_str_list(w, &obj.dependencies);
    w.raw(b",\"evidence_id\":");
    w.string(&obj.evidence_id);
    w.raw(b",\"evidence_type\":");
    w.string(&obj.evidence_type);
}

/// The members after `signer`: `source`, `timestamp`, `value`.
fn write_evidence_tail<S: CanonSink + ?Sized>(
    w: &mut CanonWriter<'_, S>,
    obj: &EvidenceObject,
    value: &[u8],
) {
    w.raw(b",\"source\":");
    w.string(&obj.source);
    w.raw(b",\"timestamp\":");
    w.float(obj.timestamp);
    w.raw(b",\"value\":");
    w.raw(value);
    w.raw(b"}");
}

/// The hash payload `{dependencies, evidence_id, evidence_type, signer, source, timestamp,
/// value}` (the reference payload plus `signer`).
fn write_payload<S: CanonSink + ?Sized>(
    w: &mut CanonWriter<'_, S>,
    obj: &EvidenceObject,
    value: &[u8],
) {
    write_evidence_head(w, obj);
    w.raw(b",\"signer\":");
    w.string(&obj.signer);
    write_evidence_tail(w, obj, value);
}

/// The wire/root form: the payload plus `hash` and `signature`.
fn write_full<S: CanonSink + ?Sized>(
    w: &mut CanonWriter<'_, S>,
    obj: &EvidenceObject,
    value: &[u8],
) {
    write_evidence_head(w, obj);
    w.raw(b",\"hash\":");
    w.string(&obj.hash);
    w.raw(b",\"signature\":");
    w.string(&obj.signature);
    w.raw(b",\"signer\":");
    w.string(&obj.signer);
    write_evidence_tail(w, obj, value);
}

/// The evidence hash: lowercase hex SHA-256 of `canon(payload)`.
pub fn evidence_hash(obj: &EvidenceObject) -> String {
    let value = value_bytes(obj);
    payload_hash(obj, &value)
}

fn payload_hash(obj: &EvidenceObject, value: &[u8]) -> String {
    let mut h = Sha256::new();
    {
        let mut w = CanonWriter::new(&mut h);
        write_payload(&mut w, obj, value);
        w.finish();
    }
    hex_digest(h)
}

/// Indices of `objects` sorted by `evidence_id` (stable, so duplicates keep input order).
pub(crate) fn sorted_order(objects: &[EvidenceObject]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by(|&a, &b| {
        let ka = objects.get(a).map(|o| o.evidence_id.as_bytes());
        let kb = objects.get(b).map(|o| o.evidence_id.as_bytes());
        ka.cmp(&kb)
    });
    order
}

fn write_request<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, r: &Request) {
    w.raw(b"{\"artifact_hash\":");
    w.string(&r.artifact_hash);
    w.raw(b",\"commit_sha\":");
    w.string(&r.commit_sha);
    w.raw(b",\"deployment_id\":");
    w.string(&r.deployment_id);
    w.raw(b",\"environment\":");
    w.string(&r.environment);
    w.raw(b",\"requested_by\":");
    w.string(&r.requested_by);
    w.raw(b",\"service\":");
    w.string(&r.service);
    w.raw(b"}");
}

fn write_predicate<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Predicate) {
    w.raw(b"{\"name\":");
    w.string(&p.name);
    w.raw(b",\"params\":");
    match &p.params {
        PredicateParams::Children(None) | PredicateParams::Child(None) => w.raw(b"{}"),
        PredicateParams::Children(Some(children)) => {
            w.raw(b"{\"children\":");
            write_predicates(w, children);
            w.raw(b"}");
        }
        PredicateParams::Child(Some(child)) => {
            w.raw(b"{\"child\":");
            write_predicate(w, child);
            w.raw(b"}");
        }
        PredicateParams::Leaf(o) | PredicateParams::Unknown(o) => {
            write_object_members(w, &o.entries)
        }
    }
    w.raw(b"}");
}

fn write_predicates<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, ps: &[Predicate]) {
    w.raw(b"[");
    for (n, p) in ps.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        write_predicate(w, p);
    }
    w.raw(b"]");
}

fn write_policy<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Policy) {
    w.raw(b"{\"environment\":");
    w.string(&p.environment);
    w.raw(b",\"freshness_seconds\":");
    write_object_members(w, &p.freshness_seconds);
    w.raw(b",\"policy_id\":");
    w.string(&p.policy_id);
    w.raw(b",\"predicates\":");
    write_predicates(w, &p.predicates);
    w.raw(b",\"rule_set_id\":");
    w.string(&p.rule_set_id);
    w.raw(b",\"version\":");
    w.int(&p.version);
    w.raw(b"}");
}

fn write_step<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, s: &ProofStep) {
    w.raw(b"{\"conclusion\":");
    w.string(&s.conclusion);
    w.raw(b",\"evidence_refs\":");
    write_sorted_str_list(w, &s.evidence_refs);
    w.raw(b",\"premises\":");
    write_str_list(w, &s.premises);
    w.raw(b",\"rule\":");
    w.string(&s.rule);
    w.raw(b",\"step_id\":");
    w.string(&s.step_id);
    w.raw(b"}");
}

fn write_proof<S: CanonSink + ?Sized>(w: &mut CanonWriter<'_, S>, p: &Proof) {
    w.raw(b"{\"final_conclusion\":");
    w.string(&p.final_conclusion);
    w.raw(b",\"steps\":[");
    for (n, s) in p.steps.iter().enumerate() {
        if n > 0 {
            w.raw(b",");
        }
        write_step(w, s);
    }
    w.raw(b"]}");
}

/// `policy_root`: lowercase hex SHA-256 of `canon(policy)`.
pub fn policy_root(p: &Policy) -> String {
    let mut h = Sha256::new();
    {
        let mut w = CanonWriter::new(&mut h);
        write_policy(&mut w, p);
        w.finish();
    }
    hex_digest(h)
}

/// `canon(policy)` as bytes.
pub fn policy_canonical_bytes(p: &Policy) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    {
        let mut w = CanonWriter::new(&mut out);
        write_policy(&mut w, p);
        w.finish();
    }
    out
}

/// Computes every digest in one pass over the body.
pub fn digests(c: &Certificate) -> Digests {
    let values: Vec<Vec<u8>> = c.evidence.iter().map(value_bytes).collect();
    let evidence_hashes = c
        .evidence
        .iter()
        .zip(&values)
        .map(|(o, v)| payload_hash(o, v))
        .collect();

    let mut body = Sha256::new();
    let mut ev = Sha256::new();
    let mut pol = Sha256::new();
    let mut prf = Sha256::new();
    // Keys of the body in sorted order: evidence, policy, proof, request.
    body.update(b"{\"evidence\":");
    {
        let mut tee = Tee(&mut body, &mut ev);
        let mut w = CanonWriter::new(&mut tee);
        w.raw(b"{\"objects\":[");
        for (n, &i) in sorted_order(&c.evidence).iter().enumerate() {
            if let (Some(o), Some(v)) = (c.evidence.get(i), values.get(i)) {
                if n > 0 {
                    w.raw(b",");
                }
                write_full(&mut w, o, v);
            }
        }
        w.raw(b"]}");
        w.finish();
    }
    body.update(b",\"policy\":");
    {
        let mut tee = Tee(&mut body, &mut pol);
        let mut w = CanonWriter::new(&mut tee);
        write_policy(&mut w, &c.policy);
        w.finish();
    }
    body.update(b",\"proof\":");
    {
        let mut tee = Tee(&mut body, &mut prf);
        let mut w = CanonWriter::new(&mut tee);
        write_proof(&mut w, &c.proof);
        w.finish();
    }
    body.update(b",\"request\":");
    {
        let mut w = CanonWriter::new(&mut body);
        write_request(&mut w, &c.request);
        w.finish();
    }
    body.update(b"}");
    Digests {
        certificate_digest: hex_digest(body),
        policy_root: hex_digest(pol),
        evidence_root: hex_digest(ev),
        proof_root: hex_digest(prf),
        evidence_hashes,
    }
}

/// The canonical JSON bytes of the whole certificate as submitted: the body with keys sorted,
/// and no `attestations` member (a submitted `maat-v1` certificate carries none, 10.6).
pub fn canonical_bytes(c: &Certificate) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    {
        let mut w = CanonWriter::new(&mut out);
        w.raw(b"{\"evidence\":{\"objects\":[");
        for (n, &i) in sorted_order(&c.evidence).iter().enumerate() {
            if let Some(o) = c.evidence.get(i) {
                if n > 0 {
                    w.raw(b",");
                }
                write_full(&mut w, o, &value_bytes(o));
            }
        }
        w.raw(b"]},\"policy\":");
        write_policy(&mut w, &c.policy);
        w.raw(b",\"proof\":");
        write_proof(&mut w, &c.proof);
        w.raw(b",\"request\":");
        write_request(&mut w, &c.request);
        w.raw(b"}");
        w.finish();
    }
    out
}

impl Certificate {
    /// See [`canonical_bytes`].
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        canonical_bytes(self)
    }

    /// See [`digests`].
    pub fn digests(&self) -> Digests {
        digests(self)
    }
}
