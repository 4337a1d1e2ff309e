//! Section 7: AVM traces to evidence (`DeploymentTrace.to_evidence_bundle`) and the legacy
//! hash-chained reasoning step (`ReasoningStep.compute_hash`, ASCII-escaped JSON).

use hmac::Mac;
use sha2::{Digest, Sha256};

use super::config::HmacSha256;
use super::doc::{V, to_value_list};
use super::py::{none, py_list, py_str, sorted_order};
use super::sign::{SignError, sign_evidence};
use crate::json::{CanonWriter, Object, Value};

fn member<'v>(o: &'v Object, k: &str) -> Result<&'v Value, SignError> {
    o.get(k)
        .ok_or_else(|| SignError::Malformed(format!("missing {k}")))
}

/// `DeploymentTrace.to_evidence_bundle(key).to_dict()` for a trace in its `to_dict` form
/// (`{deployment_id, actions, tools: [{tool_name, output_type, output, timestamp, source,
/// dependencies}]}`): one signed object per tool, id `<deployment_id>:<index>:<output_type>`,
/// `value` = output plus `deployment_id` only if absent, `source` = `avm:<tool_name>` (the
/// tool's own `source` is ignored), the timestamp as given. Objects come out sorted by id.
pub fn trace_to_evidence_bundle(trace: &Value, key: &[u8]) -> Result<Value, SignError> {
    let t = trace
        .as_object()
        .ok_or_else(|| SignError::Malformed("trace".into()))?;
    let deployment_id = member(t, "deployment_id")?;
    let tools = match t.get("tools") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(SignError::Malformed("tools".into())),
    };
    let mut objects = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        let tool = tool
            .as_object()
            .ok_or_else(|| SignError::Malformed(format!("tool {index}")))?;
        let output_type = member(tool, "output_type")?;
        let mut value = member(tool, "output")?
            .as_object()
            .cloned()
            .ok_or_else(|| SignError::Malformed("output".into()))?;
        if !value.contains_key("deployment_id") {
            value.insert("deployment_id", deployment_id.clone());
        }
        let deps = match tool.get("dependencies") {
            None => Vec::new(),
            Some(d) => to_value_list(
                py_list(V::J(d)).map_err(|_| SignError::Malformed("dependencies".into()))?,
            ),
        };
        let spec: Object = [
            (
                "evidence_id",
                Value::String(format!(
                    "{}:{index}:{}",
                    py_str(V::J(deployment_id)),
                    py_str(V::J(output_type))
                )),
            ),
            ("evidence_type", output_type.clone()),
            ("value", Value::Object(value)),
            (
                "source",
                Value::String(format!("avm:{}", py_str(V::J(member(tool, "tool_name")?)))),
            ),
            ("timestamp", member(tool, "timestamp")?.clone()),
            ("dependencies", Value::Array(deps)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        objects.push(sign_evidence(&Value::Object(spec), key)?);
    }
    let order = sorted_order(objects.len(), |i| {
        objects
            .get(i)
            .and_then(|o| o.get("evidence_id"))
            .map_or(none(), V::J)
    })
    .map_err(|_| SignError::Malformed("evidence ids are not sortable".into()))?;
    let sorted: Vec<Value> = order
        .iter()
        .filter_map(|i| objects.get(i).cloned())
        .collect();
    let mut bundle = Object::new();
    bundle.insert("objects", Value::Array(sorted));
    Ok(Value::Object(bundle))
}

/// `ReasoningStep.compute_hash(previous_hash)`: SHA-256 of `json.dumps({step_id, context,
/// reasoning, conclusion, timestamp, previous_hash}, sort_keys=True, separators=(",", ":"))`
/// with Python's default `ensure_ascii=True`. `step` holds the five fields as given.
pub fn reasoning_step_hash(step: &Value, previous_hash: &str) -> Result<String, SignError> {
    let s = step
        .as_object()
        .ok_or_else(|| SignError::Malformed("step".into()))?;
    let mut o = Object::new();
    for k in ["step_id", "context", "reasoning", "conclusion", "timestamp"] {
        o.insert(k, member(s, k)?.clone());
    }
    o.insert("previous_hash", Value::from(previous_hash));
    let mut h = Sha256::new();
    {
        let mut w = CanonWriter::new_ascii(&mut h);
        w.object(&o);
        w.finish();
    }
    Ok(hex::encode(h.finalize()))
}

/// The legacy proof signature: HMAC-SHA256 over the raw string `chain_id + root_hash`.
pub fn reasoning_proof_signature(
    key: &[u8],
    chain_id: &str,
    root_hash: &str,
) -> Result<String, SignError> {
    if key.is_empty() {
        return Err(SignError::EmptyKey);
    }
    let mut m = HmacSha256::new_from_slice(key).map_err(|_| SignError::EmptyKey)?;
    m.update(chain_id.as_bytes());
    m.update(root_hash.as_bytes());
    Ok(hex::encode(m.finalize().into_bytes()))
}
