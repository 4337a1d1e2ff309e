//! Property tests of the canonical JSON layer (CERTIFICATE.md section 3.1).

use maat_certificate::json::{
    self, JsonInt, Object, ParseMode, Value, canon_bytes, canon_string, python_float_repr,
    to_json_string,
};
use proptest::prelude::*;

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        any::<String>(),
        Just("\u{1f680}".to_owned()),
        Just("\u{e000}".to_owned()),
    ]
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "-?[1-9][0-9]{18,40}".prop_map(|t| Value::Int(JsonInt { text: t.into() })),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Object>())),
        ]
    })
}

/// The value with every object's keys sorted by code point (what `canon` does).
fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        Value::Object(o) => {
            let mut e: Vec<(String, Value)> = o
                .entries
                .iter()
                .map(|(k, v)| (k.clone(), sort_keys(v)))
                .collect();
            e.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            Value::Object(Object { entries: e })
        }
        other => other.clone(),
    }
}

/// Bitwise float equality, so that -0.0 and 0.0 are told apart.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.entries
                    .iter()
                    .zip(&y.entries)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && same(v1, v2))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_of_canon_is_the_sorted_value(v in arb_value()) {
        let text = canon_bytes(&v);
        let back = json::parse(&text, ParseMode::Strict).expect("canonical JSON parses");
        prop_assert!(same(&back, &sort_keys(&v)), "{}", String::from_utf8_lossy(&text));
        // canon is idempotent.
        prop_assert_eq!(canon_bytes(&back), text);
    }

    #[test]
    fn input_order_writer_round_trips(v in arb_value()) {
        let text = to_json_string(&v);
        let back = json::parse(text.as_bytes(), ParseMode::Strict).expect("parses");
        prop_assert!(same(&back, &v), "{}", text);
    }

    #[test]
    fn float_repr_round_trips(bits in any::<u64>()) {
        let x = f64::from_bits(bits);
        prop_assume!(x.is_finite());
        let r = python_float_repr(x);
        prop_assert_eq!(r.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{}", r);
        // Python's layout: positional iff 1e-4 <= |x| < 1e16 (or zero), always with a dot.
        let positional = x == 0.0 || (1e-4..1e16).contains(&x.abs());
        prop_assert_eq!(!r.contains('e'), positional, "{}", r);
        if positional {
            prop_assert!(r.contains('.'), "{}", r);
        } else {
            let exp = r.split_once('e').unwrap().1;
            prop_assert!(exp.starts_with('+') || exp.starts_with('-'), "{}", r);
            prop_assert!(exp.len() >= 3, "{}", r);
        }
        // The float is written as a float: it parses back as one.
        let parsed = json::parse(r.as_bytes(), ParseMode::Strict).unwrap();
        prop_assert!(matches!(parsed, Value::Float(_)), "{}", r);
    }

    #[test]
    fn parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = json::parse(&bytes, ParseMode::Python);
        let _ = json::parse(&bytes, ParseMode::Strict);
    }

    #[test]
    fn parser_never_panics_on_jsonish(s in "[\\[\\]{}\",:0-9eE.+\\-tfnrul\\\\ a]{0,48}") {
        let _ = json::parse(s.as_bytes(), ParseMode::Python);
    }
}

#[test]
fn known_float_reprs() {
    for (x, want) in [
        (1e16, "1e+16"),
        (1e15, "1000000000000000.0"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (1.5e-7, "1.5e-07"),
        (1e22, "1e+22"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (0.1, "0.1"),
        (123456789012345680.0, "1.2345678901234568e+17"),
        (-0.0, "-0.0"),
    ] {
        assert_eq!(python_float_repr(x), want);
        assert_eq!(
            python_float_repr(want.parse().unwrap())
                .parse::<f64>()
                .unwrap()
                .to_bits(),
            x.to_bits()
        );
    }
}

#[test]
fn canonical_layout() {
    let v = json::parse(
        "{\"b\":[1.0,1,-0,1E2,100.00],\"a\":\"\\u00e9\\u2028/\\u007f\\n\",\"\\ud83d\\ude80\":1,\"\\uffff\":2}".as_bytes(),
        ParseMode::Python,
    )
    .unwrap();
    // Astral characters sort after U+FFFF in code point order (not UTF-16 order).
    assert_eq!(
        canon_string(&v),
        "{\"a\":\"\u{e9}\u{2028}/\u{7f}\\n\",\"b\":[1.0,1,0,100.0,100.0],\"\u{ffff}\":2,\"\u{1f680}\":1}"
    );
}

#[test]
fn rejects_what_python_would_not_round_trip() {
    for bad in [
        "NaN",
        "[Infinity]",
        "[-Infinity]",
        "1e400",
        "\"\\ud800\"",
        "\"\\udfff\"",
        "{\"a\":1,\"a\":2",
    ] {
        assert!(
            json::parse(bad.as_bytes(), ParseMode::Python).is_err(),
            "{bad}"
        );
    }
    let long = "9".repeat(json::MAX_INT_DIGITS + 1);
    assert!(json::parse(long.as_bytes(), ParseMode::Python).is_err());
    let ok = "9".repeat(json::MAX_INT_DIGITS);
    assert!(json::parse(ok.as_bytes(), ParseMode::Python).is_ok());
}
