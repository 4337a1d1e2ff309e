//! Every decoder that reads bytes from a peer: p2p requests and responses (consensus messages,
//! block fetches), proposal gossip, block payloads, and transaction gossip (the ledger's
//! strict transaction decoder). The first byte picks the decoder; properties: no panic, no
//! allocation beyond the limit, and whatever decodes re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maat_consensus::Encode as _;
use maat_consensus::wire::{
    NetRequest, NetResponse, decode_payload, decode_proposal_gossip, encode_payload,
};
use maat_ledger::{ChainParams, Ledger};
use std::sync::OnceLock;

fn ledger() -> &'static Ledger {
    static L: OnceLock<Ledger> = OnceLock::new();
    L.get_or_init(|| Ledger::with_params("maat-fuzz", ChainParams::default()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            if let Ok(r) = NetRequest::decode(bytes) {
                assert_eq!(r.encode(), bytes, "request re-encodes");
            }
        }
        1 => {
            if let Ok(r) = NetResponse::decode(bytes) {
                assert_eq!(r.encode(), bytes, "response re-encodes");
            }
        }
        2 => {
            if let Ok(m) = decode_proposal_gossip(bytes) {
                assert_eq!(m.encode(), bytes, "proposal re-encodes");
            }
        }
        3 => {
            if let Ok(txs) = decode_payload(bytes, 10_000) {
                if !bytes.is_empty() {
                    assert_eq!(encode_payload(&txs), bytes, "payload re-encodes");
                }
            }
        }
        _ => {
            let _ = ledger().decode(bytes);
        }
    }
});
