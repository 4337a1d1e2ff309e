//! `maat-node`: the validator node `maatd` (issue 5).
