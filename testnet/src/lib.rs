//! `maat-testnet`: local testnet launcher, load and chaos runs (issue 7).
