//! `maat-ledger`: the deterministic state machine (identities, policies, deployments,
//! audit chains, attestations) and the transparency log. Implemented in issue 4; it will
//! implement `maat_certificate::maat_v1::Registry` over committed state.
