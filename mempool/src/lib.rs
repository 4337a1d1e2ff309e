//! `maat-mempool`: admission, dedup, fairness and batch selection (issue 4).
