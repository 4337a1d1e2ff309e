//! `maat audit`: append a record to an agent's audit chain, export the chain as a bundle, verify
//! a bundle offline (`docs/AUDIT-BUNDLES.md`).

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use maat_certificate::json::{self, ParseMode};
use maat_crypto::keyfile::load_key_file;
use maat_ledger::Genesis;
use maat_ledger::audit::{self, GENESIS_PREVIOUS_HASH};
use maat_proto::v1;
use maat_sdk::audit_bundle::{
    AuditBundle, ExportOptions, export_audit_bundle, verify_audit_bundle,
};
use maat_sdk::client::ClientError;

use crate::node::{NodeArg, write_json};
use crate::{Outcome, block_on};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Append one record to the key's own audit chain and wait until it is final.
    Log(LogArgs),
    /// Export an agent's chain with a checkpoint and inclusion proofs (offline-verifiable).
    Export(ExportArgs),
    /// Verify an exported bundle offline against the genesis file.
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct LogArgs {
    /// The agent's key file (a registered identity; its `id` is the agent id).
    #[arg(long)]
    key: PathBuf,
    /// The agent's session (a name).
    #[arg(long)]
    session: String,
    /// `intent_evaluated`, `gate_decision`, `escalation_created` or `escalation_resolved`.
    #[arg(long)]
    event: String,
    /// `low`, `medium`, `high` or `critical`.
    #[arg(long, default_value = "low")]
    risk: String,
    /// The data: a JSON object (written in canonical form).
    #[arg(long, default_value = "{}")]
    data: String,
    #[command(flatten)]
    node: NodeArg,
    /// How long to wait for finality, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
}

#[derive(Args)]
pub struct ExportArgs {
    /// The agent whose chain to export.
    #[arg(long)]
    agent: String,
    /// The genesis file of the chain (names the chain in the bundle).
    #[arg(long)]
    genesis: PathBuf,
    /// First sequence (default 1).
    #[arg(long)]
    from: Option<u64>,
    /// Last sequence (default: the last record the latest checkpoint covers).
    #[arg(long)]
    to: Option<u64>,
    /// Export this top-level data field as a salted commitment only (repeatable).
    #[arg(long = "redact", value_name = "FIELD")]
    redact: Vec<String>,
    /// Write the bundle here (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    node: NodeArg,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The bundle (from `maat audit export`).
    bundle: PathBuf,
    /// The chain's genesis file.
    #[arg(long)]
    genesis: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AuditCommand::Log(args) => block_on(log(args)),
        AuditCommand::Export(args) => block_on(export(args)),
        AuditCommand::Verify(args) => verify(&args),
    }
}

async fn log(args: LogArgs) -> anyhow::Result<Outcome> {
    let key =
        load_key_file(&args.key).with_context(|| format!("loading key {}", args.key.display()))?;
    let agent = key
        .id
        .clone()
        .ok_or_else(|| anyhow!("the key file has no `id` (the agent identity)"))?;
    let data = json::parse(args.data.as_bytes(), ParseMode::Strict)
        .map_err(|e| anyhow!("--data is not JSON: {e}"))?;
    let client = args.node.connect().await?;
    let status = client.status().await.context("reading the node's status")?;
    let identity = client.identity(&agent).await?.ok_or_else(|| {
        anyhow!(
            "`{agent}` is not a registered identity on {}",
            status.chain_id
        )
    })?;
    let nonce = identity
        .get("last_nonce")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| anyhow!("the node did not report `{agent}`'s last nonce"))?
        + 1;
    // The head: the chain's last committed record (records still pending are not seen).
    let length = client.audit_chain(&agent, 1, Some(1)).await?.length;
    let (sequence, previous_hash, min_time) = if length == 0 {
        (1, GENESIS_PREVIOUS_HASH, 0)
    } else {
        let page = client.audit_chain(&agent, length, Some(1)).await?;
        let head = page
            .records
            .first()
            .ok_or_else(|| anyhow!("the node reported {length} records but returned none"))?;
        (length + 1, head.record_hash, head.timestamp_ms)
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let mut salt = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    let record = v1::AuditRecordTx {
        agent_id: agent.clone(),
        session_id: args.session,
        event_type: args.event,
        risk: args.risk,
        timestamp_ms: now_ms.max(min_time),
        sequence,
        previous_hash: previous_hash.to_vec(),
        data_json: json::canon_bytes(&data),
        salt: salt.to_vec(),
    };
    let record_hash = audit::record_hash(&status.chain_id, &record)
        .map_err(|e| anyhow!("the record is invalid: {e}"))?;
    let payload = maat_proto::tx::payload(
        &status.chain_id,
        &agent,
        nonce,
        maat_proto::tx::body::audit_record(record),
    );
    let tx = maat_proto::encode(&maat_proto::tx::sign(payload, &key.key_pair));
    let tx_id = match client.submit_tx(&tx).await {
        Ok(id) => id,
        Err(ClientError::Rejected { message, rejection }) => {
            eprintln!("rejected: {message} ({})", rejection.code);
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e).context("submitting the record"),
    };
    let fin = match client
        .wait_for_finality(tx_id, Duration::from_secs(args.timeout_secs))
        .await
    {
        Ok(f) => f,
        Err(ClientError::Rejected { message, rejection }) => {
            eprintln!("rejected: {message} ({})", rejection.code);
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e).context("waiting for finality"),
    };
    println!(
        "{}",
        serde_json::json!({
            "tx_id": tx_id.to_hex(),
            "agent_id": agent,
            "sequence": sequence,
            "record_hash": hex::encode(record_hash),
            "height": fin.height,
            "log_index": fin.log_index,
        })
    );
    Ok(Outcome::Success)
}

async fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let genesis = Genesis::load(&args.genesis)
        .with_context(|| format!("loading genesis {}", args.genesis.display()))?;
    let client = args.node.connect().await?;
    let options = ExportOptions {
        from_sequence: args.from,
        to_sequence: args.to,
        redact: args.redact,
    };
    let bundle = export_audit_bundle(&client, &genesis, &args.agent, &options).await?;
    // Check what is written: an export that does not verify is a bug or a lying node.
    let report = verify_audit_bundle(&bundle, &genesis)
        .context("the exported bundle does not verify (is the node on this chain?)")?;
    match &args.out {
        Some(path) => {
            write_json(path, &bundle, true)?;
            eprintln!(
                "exported records {}..={} of `{}` ({} redacted) to {}",
                report.first_sequence,
                report.last_sequence,
                report.agent_id,
                report.redacted_records,
                path.display()
            );
        }
        None => println!("{}", serde_json::to_string_pretty(&bundle)?),
    }
    Ok(Outcome::Success)
}

fn verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let genesis = Genesis::load(&args.genesis)
        .with_context(|| format!("loading genesis {}", args.genesis.display()))?;
    let text = std::fs::read_to_string(&args.bundle)
        .with_context(|| format!("reading {}", args.bundle.display()))?;
    let bundle: AuditBundle = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an audit bundle", args.bundle.display()))?;
    match verify_audit_bundle(&bundle, &genesis) {
        Ok(r) => {
            if args.json {
                println!("{}", serde_json::json!({"verified": true, "report": r}));
            } else {
                println!(
                    "verified: audit chain of `{}` on {}",
                    r.agent_id, r.chain_id
                );
                println!(
                    "  records      {}..={} ({} records, {} redacted){}",
                    r.first_sequence,
                    r.last_sequence,
                    r.records,
                    r.redacted_records,
                    if r.from_genesis {
                        ", from the chain's first record"
                    } else {
                        ""
                    }
                );
                println!("  head hash    {}", r.head_record_hash);
                println!(
                    "  checkpoint   tree size {}, cosigned by voting power {}",
                    r.tree_size, r.checkpoint_power
                );
            }
            Ok(Outcome::Success)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({"verified": false, "error": e.to_string()})
                );
            } else {
                println!("NOT verified: {e}");
            }
            Ok(Outcome::Rejected)
        }
    }
}
