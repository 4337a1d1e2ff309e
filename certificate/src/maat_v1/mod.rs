//! The `maat-v1` rule set (CERTIFICATE.md section 10): what validators replay on a
//! `Certificate` transaction at the block timestamp, before voting.
//!
//! Entry point: [`check()`] on certificate bytes, with a [`Registry`] of
//! identities, policies, finalized deployments and finalized supply-chain attestations ([`InMemoryRegistry`] for tests and tools),
//! a [`CheckContext`] (block time, max clock skew), and the [`CertificateBuilder`].
//!
//! # Wire form
//! `{"request", "policy", "evidence": {"objects": [...]}, "proof", "attestations"?}` with the
//! field names of sections 2.1-2.6 plus `signer` on every evidence object. Every field is
//! required (no defaults); `attestations` may be absent or `[]`, anything in it is
//! `CERTIFICATE_ATTESTATIONS_FORBIDDEN` (component `Quorum(A)`: a submitted certificate's
//! quorum is the commit certificate of its block, 10.6). Parsing is strict ([`parse`] module
//! docs give the field path format):
//! `CERTIFICATE_TOO_LARGE:<bytes|evidence|steps|predicates|depth>`,
//! `CERTIFICATE_JSON_MALFORMED` (syntax, duplicate key, NaN/Infinity, lone surrogate, wrong
//! JSON type of a typed field, non-finite timestamp), `CERTIFICATE_FIELD_UNKNOWN:<path>`,
//! `CERTIFICATE_FIELD_MISSING:<path>`, all under component `Parse`. Typed fields (request,
//! policy header, evidence and proof members, combinator `children`/`child`) must have their
//! JSON type; open-ended JSON (evidence `value`, leaf `params` values, `freshness_seconds`
//! values) is kept as given and judged by WF(P)/Auth(E) codes.
//!
//! # Hashes and signatures
//! Canonical JSON and the int/float rules of section 3 apply unchanged. The **evidence hash**
//! is `H({dependencies (sorted), evidence_id, evidence_type, signer, source, timestamp, value})`:
//! the reference payload plus `signer`, so the signature binds the claimed signer. The
//! signature is `<ed25519|mldsa65>:<base64>` over `"maat/evidence/v1\n" || hash` (the 64
//! lowercase hex characters, no quotes). `evidence_root`, `policy_root`, `proof_root` and
//! `certificate_digest` are those of section 3.4 over the `maat-v1` body (objects include
//! `signer`; attestations never count).
//!
//! # Checks, in report order
//! - `Certificate`: `CHECK_CONTEXT_INVALID` (non-finite block time or skew; nothing else is
//!   checked), `REQUEST_FIELD_REQUIRED:<field>` for an empty request field.
//! - `WF(P)`: section 4.1 (leaf params must be non-empty strings; `threshold` an integer
//!   literal in `0..=u64::MAX`; freshness values positive numbers; the new leaf
//!   `artifact_attested{predicate_type}` has `POLICY_ARTIFACT_ATTESTED_PREDICATE_INVALID`), then
//!   `POLICY_ENVIRONMENT_MISMATCH` (policy and request environments differ),
//!   `POLICY_NOT_REGISTERED` (nothing registered for `(service, environment)`) or
//!   `POLICY_MISMATCH` (the certificate's `policy_root` is not the registered one).
//! - `Auth(E)`, per object in input order: `EVIDENCE_DUPLICATE_ID`, `EVIDENCE_HASH_MISSING` /
//!   `EVIDENCE_HASH_INVALID`, `EVIDENCE_SIGNATURE_MISSING`, then one of
//!   `EVIDENCE_SIGNER_UNKNOWN:<id>` (not a registered identity), `EVIDENCE_SIGNER_UNAUTHORIZED:<id>`
//!   (revoked identity, identity not authorised by the registered policy for that evidence
//!   type by id or role, or a signature that verifies only under a rotated-out key),
//!   `EVIDENCE_SIGNATURE_INVALID:<id>` (undecodable, or verifies under no active key; not
//!   verified at all when the hash is wrong). Each signature is verified once, under the
//!   active keys; rotated-out keys are tried only on failure. Then
//!   `EVIDENCE_DEPENDENCY_MISSING:<id>:<dep>`; `EVIDENCE_REQUIRED_MISSING:<type>` for the three
//!   binding types only (leaf evidence is judged by the logic below);
//!   `EVIDENCE_FROM_FUTURE:<id>` (`timestamp - block_time > max_clock_skew`) and
//!   `EVIDENCE_STALE:<id>` (`block_time - timestamp > freshness_seconds[type]`), always at the
//!   block time; bindings on **every** object: `EVIDENCE_COMMIT_MISMATCH:<id>`,
//!   `EVIDENCE_ARTIFACT_MISMATCH:<id>`, `EVIDENCE_ENVIRONMENT_MISMATCH:<id>` (the value field
//!   must be the request's string), `EVIDENCE_DEPLOYMENT_MISMATCH:<id>` (a non-null
//!   `deployment_id` other than the request's). Then every `attestation_ref` object (value
//!   `{"log_index": <int >= 0>, "subject": "<alg>:<lowercase hex>", "predicate_type": "<uri>"}`,
//!   other keys allowed as in any value) against [`Registry::attestation`]:
//!   `EVIDENCE_ATTESTATION_REF_INVALID:<id>` (a missing or mistyped field),
//!   `EVIDENCE_ATTESTATION_NOT_FOUND:<id>` (nothing finalized at `log_index`),
//!   `EVIDENCE_ATTESTATION_MISMATCH:<id>` (the attestation there has another predicate type or
//!   does not list `subject`). A reference failing one of these is not authenticated.
//! - Logic: each leaf is true when some *authenticated* object (hash and signature valid,
//!   signer authorised, id unique) supports it:
//!   `test_passed{suite}` - a `test_result` with that `suite` and `passed` exactly `true`;
//!   `vuln_count{severity, operator, threshold}` - a `scan_report` whose `vulnerabilities`
//!   object gives `severity` a non-negative integer count (absent = 0; a float, string or
//!   negative count supports nothing) with `count <= threshold` / `== threshold`;
//!   `human_attested{role}` - a `human_attestation` with that `role`, the request's
//!   `deployment_id`, `approved` exactly `true`, **signed by an identity holding `role`**;
//!   `rollback_defined{service}` - a `rollback_spec` for `service` with a truthy
//!   `rollback_plan`; `canary_enabled{service}` - a `rollout_spec` for `service` with
//!   `canary_enabled` exactly `true`; `environment_matches{target}` - `target` is the policy's
//!   and the request's environment and an `environment_descriptor` names it.
//!   `artifact_attested{predicate_type}` - an `attestation_ref` (which passed the registry
//!   check above) with that `predicate_type` whose `subject` is the request's artifact: exactly
//!   `artifact_hash` if that contains `:`, else `sha256:` + `artifact_hash` ASCII-lowercased.
//!   `and`/`or`/`not` are evaluated. When the policy is false, only the leaves that explain it
//!   are reported: a leaf needed true and false gets the reference code
//!   (`EVIDENCE_TEST_NOT_PASSED:<suite>`, ...), a leaf needed false (under `not`) and true gets
//!   `EVIDENCE_NEGATED_LEAF_HOLDS:<label>`. A node that already has the wanted value explains
//!   nothing, so **a false leaf under a satisfied `or` is not reported at all**; where any of
//!   several children would fix a node, all of them are listed.
//! - `CheckR`, per step: `VRP_STEP_ID_REQUIRED`, `VRP_STEP_DUPLICATE`, `VRP_RULE_UNKNOWN`
//!   (rules of 2.6 plus `CANARY_READY` for `canary_enabled` and `ARTIFACT_ATTESTED` for
//!   `artifact_attested`), premises:
//!   `VRP_PREMISE_CYCLE:<step>` once if any premise names the step itself or a later step,
//!   `VRP_PREMISE_MISSING:<step>:<p>` if it names no step (so the derivation is a DAG by
//!   construction); `VRP_EVIDENCE_REF_MISSING`. A leaf step (`TEST_PASS`, `VULN_OK`,
//!   `HUMAN_ATTESTED`, `ROLLBACK_READY`, `CANARY_READY`, `ENVIRONMENT_MATCH`,
//!   `ARTIFACT_ATTESTED`) must conclude exactly the label of a policy leaf of its rule -
//!   `test_passed:<suite>`, `vuln_count:<severity><op><threshold>`, `human_attested:<role>`,
//!   `rollback_defined:<service>`, `canary_enabled:<service>`, `environment_matches:<target>`,
//!   `artifact_attested:<predicate_type>`, so suite, severity, operator, threshold, role,
//!   service, target and predicate type are all matched - else
//!   `VRP_STEP_CONCLUSION_INVALID:<step>`; and cite an authenticated object that supports that
//!   very leaf, else the rule's code (`VRP_TEST_PASS_UNSUPPORTED`, `VRP_VULN_OK_UNSUPPORTED`,
//!   `VRP_HUMAN_ATTESTATION_REF_MISSING`, `VRP_ROLLBACK_REF_MISSING`, `VRP_CANARY_REF_MISSING`,
//!   `VRP_ENVIRONMENT_REF_MISSING`, `VRP_ARTIFACT_ATTESTATION_REF_MISSING`). `SIGNATURE_VALID` needs a resolvable ref;
//!   `EVIDENCE_BOUND` needs refs that all carry the request's `deployment_id`;
//!   `POLICY_SATISFIED` concludes exactly `policy_satisfied` and has premises; `DEPLOY_AUTH`
//!   concludes exactly `deploy_authorized:<deployment_id>` and cites an earlier
//!   `POLICY_SATISFIED` step. The last step must be that `DEPLOY_AUTH`
//!   (`VRP_FINAL_STEP_MISMATCH`), `final_conclusion` that string. **Coverage**: the leaves
//!   proved by valid leaf steps reachable through premises from the `POLICY_SATISFIED`
//!   premises of the final step are covered; every leaf the policy needs true (same
//!   explanation rules as above) that is true but not covered is
//!   `VRP_POLICY_NOT_COVERED:<label>`. Leaves needed false are checked from the evidence
//!   directly (no rule concludes a negative fact).
//! - `Quorum(A)`: `CERTIFICATE_ATTESTATIONS_FORBIDDEN`.
//! - `Ledger`: `DEPLOYMENT_DUPLICATE` when the registry says the deployment id was finalized.
//!
//! `accepted` holds exactly when there is no failure at all. The cost is linear in the
//! certificate's size: maps for ids, labels and leaf truth, one signature verification per
//! object, one canonicalization of each byte (see [`canon`]). `requested_by` is bound by
//! nothing here; the ledger should tie it to the transaction's submitter.

pub mod builder;
pub mod canon;
pub mod check;
pub mod limits;
pub mod logic;
pub mod model;
pub mod parse;
pub mod registry;

pub use builder::{BuildError, CertificateBuilder, EvidenceItem, sign_evidence, standard_proof};
pub use canon::{
    Digests, EVIDENCE_SIGNATURE_DOMAIN, evidence_hash, policy_canonical_bytes, policy_root,
};
pub use check::{CheckContext, check};
pub use limits::*;
pub use model::{
    Certificate, EvidenceObject, Policy, Predicate, PredicateParams, Proof, ProofStep, Request,
    VALID_RULES,
};
pub use parse::{Limit, ParseError, parse_certificate, parse_policy};
pub use registry::{
    AttestationEntry, IdentityRecord, InMemoryRegistry, RegisteredPolicy, Registry, SignerRule,
};
