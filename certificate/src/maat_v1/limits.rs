//! Size limits of section 10.8. Above any of them a certificate is
//! `CERTIFICATE_TOO_LARGE:<limit>` (see [`super::Limit`]).

/// At most 1 MiB of JSON, checked before parsing starts.
pub const MAX_CERTIFICATE_BYTES: usize = 1 << 20;
/// At most 256 evidence objects.
pub const MAX_EVIDENCE_OBJECTS: usize = 256;
/// At most 256 proof steps.
pub const MAX_PROOF_STEPS: usize = 256;
/// At most 64 predicates in the whole tree (combinators count).
pub const MAX_PREDICATES: usize = 64;
/// Predicates nested at most 8 deep (a top-level predicate is at depth 1).
pub const MAX_PREDICATE_DEPTH: usize = 8;
