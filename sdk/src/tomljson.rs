//! TOML to certificate JSON values. TOML keeps integers and floats apart, which the canonical
//! hash needs (CERTIFICATE.md 3.2).

use maat_certificate::json::{JsonInt, Object, Value};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct TomlJsonError {
    pub path: String,
    pub reason: &'static str,
}

pub fn to_json(v: &toml::Value, path: &str) -> Result<Value, TomlJsonError> {
    let err = |reason| TomlJsonError {
        path: path.to_string(),
        reason,
    };
    Ok(match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::Int(JsonInt::from_i64(*i)),
        toml::Value::Float(f) if f.is_finite() => Value::Float(*f),
        toml::Value::Float(_) => return Err(err("nan and inf have no canonical JSON form")),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(_) => {
            return Err(err(
                "TOML dates and times have no JSON form; write them as strings",
            ));
        }
        toml::Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| to_json(x, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Value::Object(Object {
            entries: t
                .iter()
                .map(|(k, x)| Ok((k.clone(), to_json(x, &format!("{path}.{k}"))?)))
                .collect::<Result<_, _>>()?,
        }),
    })
}
