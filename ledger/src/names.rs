//! Syntax of the names the ledger stores: identity ids, roles, services, environments and
//! evidence types.
//!
//! One rule for all: 1 to 128 bytes of `[A-Za-z0-9._:@+-]`. Narrow on purpose: names appear in
//! state keys, indexes, URLs and logs, and `did:maat:<id>` must stay readable. `:` is allowed
//! for namespaced names (`agent:planner`, `owner:checkout`).

/// Longest name in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most roles one identity holds.
pub const MAX_ROLES: usize = 32;
/// Most evidence types a registered policy names signers for.
pub const MAX_SIGNER_TYPES: usize = 64;
/// Most identities plus roles allowed for one evidence type.
pub const MAX_SIGNERS_PER_TYPE: usize = 64;

/// The role that makes an identity an admin.
pub const ADMIN_ROLE: &str = "admin";

/// The role that makes an identity an owner of `service` (may register its policies).
#[must_use]
pub fn owner_role(service: &str) -> String {
    format!("owner:{service}")
}

/// Why a name is refused, or `None` if it is valid.
#[must_use]
pub fn name_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be empty".into());
    }
    if s.len() > MAX_NAME_LEN {
        return Some(format!("is {} bytes, at most {MAX_NAME_LEN}", s.len()));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '+' | '-')))
    {
        return Some(format!("contains {c:?}; allowed: A-Z a-z 0-9 . _ : @ + -"));
    }
    None
}

/// Why a list of names is refused (a bad name, not strictly sorted, too long), or `None`.
#[must_use]
pub fn sorted_names_problem(names: &[String], max: usize) -> Option<String> {
    if names.len() > max {
        return Some(format!("has {} entries, at most {max}", names.len()));
    }
    for (i, n) in names.iter().enumerate() {
        if let Some(p) = name_problem(n) {
            return Some(format!("[{i}] {p}"));
        }
    }
    // Sorted and unique keeps the encoding canonical: one list per set.
    if names.windows(2).any(|w| w.first() >= w.get(1)) {
        return Some("must be sorted and unique".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "ci-bot",
            "agent:planner",
            "owner:checkout",
            "a",
            "x.y_z@w+1",
        ] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", "a\0", &"x".repeat(129)] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(sorted_names_problem(&v(&["a", "b"]), 2), None);
        assert!(sorted_names_problem(&v(&["b", "a"]), 2).is_some());
        assert!(sorted_names_problem(&v(&["a", "a"]), 2).is_some());
        assert!(sorted_names_problem(&v(&["a", "b", "c"]), 2).is_some());
        assert!(sorted_names_problem(&v(&["a", "b c"]), 2).is_some());
    }
}
