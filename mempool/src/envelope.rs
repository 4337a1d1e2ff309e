//! Reading a transaction's id from its envelope without decoding it.

use maat_proto::TxId;
use maat_proto::prost::encoding::decode_varint;

/// Protobuf key of `Transaction.payload` (field 1, length-delimited).
const PAYLOAD_TAG: u8 = 0x0a;

/// The id of a canonically encoded transaction, read from its first field (`payload`) only:
/// `blake3` over the payload bytes, no decoding. `None` if the bytes do not start with a
/// payload field.
///
/// Only a hint: bytes that are not canonical may still give an id here, so a match must be
/// confirmed (by decoding, or by comparing the full bytes).
#[must_use]
pub fn envelope_tx_id(tx_bytes: &[u8]) -> Option<TxId> {
    let (&tag, mut rest) = tx_bytes.split_first()?;
    if tag != PAYLOAD_TAG {
        return None;
    }
    let len = usize::try_from(decode_varint(&mut rest).ok()?).ok()?;
    Some(TxId::of_payload_bytes(rest.get(..len)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_payload_field() {
        let payload = b"\x0a\x03abc\x18\x07";
        let mut tx = vec![PAYLOAD_TAG, payload.len() as u8];
        tx.extend_from_slice(payload);
        tx.extend_from_slice(b"\x12\x02sg");
        assert_eq!(envelope_tx_id(&tx), Some(TxId::of_payload_bytes(payload)));
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        assert_eq!(envelope_tx_id(b""), None);
        assert_eq!(envelope_tx_id(b"\x12\x00"), None);
        // Length past the end.
        assert_eq!(envelope_tx_id(b"\x0a\x05ab"), None);
        // Truncated varint.
        assert_eq!(envelope_tx_id(b"\x0a\xff"), None);
        // An empty payload is still a payload.
        assert_eq!(
            envelope_tx_id(b"\x0a\x00"),
            Some(TxId::of_payload_bytes(b""))
        );
    }
}
