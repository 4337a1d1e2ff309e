//! `maat attest`: the agent-session flow (`docs/ATTESTATIONS.md`). `intent` logs a request's
//! hash, `run` attests an output directory (on a node, or `--offline` as a signed bundle),
//! `submit` sends an offline bundle to a node, `verify` checks a receipt or bundle offline.

use std::ffi::OsString;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use maat_crypto::keyfile::{load_key_file, load_public_key};
use maat_crypto::sig::PublicKey;
use maat_ledger::Genesis;
use maat_ledger::genesis::parse_rfc3339_ms;
use maat_sdk::attest::{
    AttestError, AttestReceipt, BUNDLE_FORMAT, DEFAULT_INTENT_CHAIN, IntentChain, OfflineBundle,
    RECEIPT_FORMAT, SessionInput, StatementSummary, build_statement, check_intents_against_chain,
    key_id, manifest, now_ms, sign_statement, submit_envelope_and_wait, verify_envelope_signature,
    verify_offline_bundle, verify_receipt,
};
use maat_sdk::client::ClientError;

use crate::node::{NodeArg, parse_duration, print_rejection, write_json};
use crate::{Outcome, block_on};

#[derive(Subcommand)]
pub enum AttestCommand {
    /// Append the SHA-256 of a request to the local intent chain (the text is not stored).
    Intent(IntentArgs),
    /// Attest an output directory: hash every file, sign the agent-session statement, submit
    /// it and write a receipt (or, with --offline, a signed bundle).
    Run(RunArgs),
    /// Submit an offline bundle to a node and write its receipt.
    Submit(SubmitArgs),
    /// Check a receipt (against the genesis file) or a bundle (against a public key) and the
    /// artifact directory, offline. Exit 0 verified, 1 not verified.
    Verify(VerifyArgs),
}

pub fn run(cmd: AttestCommand) -> anyhow::Result<Outcome> {
    match cmd {
        AttestCommand::Intent(args) => intent(&args),
        AttestCommand::Run(args) => run_session(args),
        AttestCommand::Submit(args) => submit(args),
        AttestCommand::Verify(args) => verify(&args),
    }
}

#[derive(Args)]
pub struct IntentArgs {
    /// The request text, exactly as given (no newline added), or `-` to read standard input
    /// to its end (every byte, a trailing newline included).
    request: OsString,
    /// The intent chain file (created with its directory if missing).
    #[arg(long, default_value = DEFAULT_INTENT_CHAIN)]
    chain: PathBuf,
    /// Print the appended line as JSON instead of the entry hash.
    #[arg(long)]
    json: bool,
}

fn intent(args: &IntentArgs) -> anyhow::Result<Outcome> {
    let request = if args.request == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the request from standard input")?;
        buf
    } else {
        args.request.as_bytes().to_vec()
    };
    if request.is_empty() {
        bail!("the request is empty");
    }
    let mut chain = IntentChain::open(&args.chain)?;
    let entry = chain.append(&request)?;
    if args.json {
        println!("{}", serde_json::to_string(&entry)?);
    } else {
        println!("{}", entry.entry);
    }
    eprintln!("intent {} appended to {}", entry.seq, args.chain.display());
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct RunArgs {
    /// The task specification file; its SHA-256 is the predicate's taskParametersSha256.
    #[arg(long)]
    spec: PathBuf,
    /// The directory of output files to attest (every regular file, recursively; symbolic
    /// links are refused).
    #[arg(long)]
    artifacts: PathBuf,
    /// The agent's key file; its `id` (a registered identity) signs, submits and is the
    /// predicate's agentId.
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    node: NodeArg,
    /// Do not contact a node: write a signed bundle (maat-attest-bundle/v1) instead.
    #[arg(long)]
    offline: bool,
    /// Where to write the receipt (default attest-receipt.json) or the bundle (default
    /// attest-bundle.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// The intent chain file; all of its entries are attested (one file = one session).
    #[arg(long, default_value = DEFAULT_INTENT_CHAIN)]
    chain: PathBuf,
    /// Publish only the count and head of the intent chain, not the request hashes.
    #[arg(long)]
    withhold_requests: bool,
    /// The session id (a Maat name; default: derived from agent, start time and intent head).
    #[arg(long)]
    session: Option<String>,
    /// When the session started, RFC 3339 UTC (default: the first intent's time, else now).
    #[arg(long)]
    started: Option<String>,
    /// How long to wait for finality and a covering checkpoint.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn run_session(args: RunArgs) -> anyhow::Result<Outcome> {
    let key =
        load_key_file(&args.key).with_context(|| format!("loading key {}", args.key.display()))?;
    let agent = key_id(&key)?.to_owned();
    let spec =
        std::fs::read(&args.spec).with_context(|| format!("reading {}", args.spec.display()))?;
    let files = manifest(&args.artifacts)?;
    let chain = IntentChain::open(&args.chain)?;
    let started_ms = args
        .started
        .as_deref()
        .map(parse_rfc3339_ms)
        .transpose()
        .map_err(|e| anyhow!("--started: {e}"))?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if args.offline {
            "attest-bundle.json"
        } else {
            "attest-receipt.json"
        })
    });
    // Refused before signing or submitting, so a finished attestation is never left unwritten.
    if !args.force && out.exists() {
        bail!(
            "{} exists; pass --force to replace it or --out elsewhere",
            out.display()
        );
    }
    let input = SessionInput {
        agent_id: agent.clone(),
        session_id: args.session.clone(),
        intents: chain.entries().to_vec(),
        withhold_requests: args.withhold_requests,
        task_parameters_sha256: maat_crypto::sha256(&spec),
        started_ms,
        finished_ms: now_ms()?,
        runner: Some(format!("maat attest run {}", env!("CARGO_PKG_VERSION"))),
    };
    let statement = build_statement(&files, &input)?;
    let envelope = sign_statement(&statement, &agent, &key.key_pair)?;

    if args.offline {
        let bundle = OfflineBundle::new(&envelope, &agent, &key.key_pair.public(), files);
        write_json(&out, &bundle, args.force)?;
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "status": "signed",
                    "bundle": out.display().to_string(),
                    "signer": agent,
                    "artifacts": bundle.manifest.len(),
                    "intents": input.intents.len(),
                })
            );
        } else {
            println!(
                "signed offline: {} artifacts, {} intents, by {agent}",
                bundle.manifest.len(),
                input.intents.len()
            );
            println!("  bundle       {}", out.display());
            println!(
                "  verify       maat attest verify {} --artifacts {} --public-key <{agent}'s public key>",
                out.display(),
                args.artifacts.display()
            );
            println!(
                "  submit later maat attest submit {} --key <key file>",
                out.display()
            );
        }
        return Ok(Outcome::Success);
    }

    let json = args.json;
    let artifacts = args.artifacts.clone();
    block_on(async move {
        let client = args.node.connect().await?;
        let receipt = submit_envelope_and_wait(&client, &key, &envelope, args.timeout).await;
        finish_submission(receipt, &out, args.force, &artifacts, json)
    })
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The offline bundle (from `maat attest run --offline`).
    bundle: PathBuf,
    /// The submitter's key file (a registered identity; it need not be the signer).
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    node: NodeArg,
    /// Where to write the receipt.
    #[arg(long, default_value = "attest-receipt.json")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// How long to wait for finality and a covering checkpoint.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn submit(args: SubmitArgs) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&args.bundle)
        .with_context(|| format!("reading {}", args.bundle.display()))?;
    let bundle: OfflineBundle = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not an offline bundle", args.bundle.display()))?;
    if bundle.format != BUNDLE_FORMAT {
        bail!(
            "{}: format {:?}, expected {BUNDLE_FORMAT:?}",
            args.bundle.display(),
            bundle.format
        );
    }
    let envelope = bundle.envelope()?;
    let key =
        load_key_file(&args.key).with_context(|| format!("loading key {}", args.key.display()))?;
    if !args.force && args.out.exists() {
        bail!(
            "{} exists; pass --force to replace it or --out elsewhere",
            args.out.display()
        );
    }
    block_on(async move {
        let client = args.node.connect().await?;
        let receipt = submit_envelope_and_wait(&client, &key, &envelope, args.timeout).await;
        finish_submission(
            receipt,
            &args.out,
            args.force,
            Path::new("<artifacts>"),
            args.json,
        )
    })
}

/// Writes the receipt and prints the outcome; a rejection is exit 1, other failures exit 2.
fn finish_submission(
    receipt: Result<AttestReceipt, AttestError>,
    out: &Path,
    force: bool,
    artifacts: &Path,
    json: bool,
) -> anyhow::Result<Outcome> {
    let receipt = match receipt {
        Ok(r) => r,
        Err(AttestError::Node(ClientError::Rejected { message, rejection })) => {
            print_rejection(&message, &rejection.code, &rejection.codes, json);
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e.into()),
    };
    write_json(out, &receipt, force)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "status": "finalized",
                "tx_id": receipt.tx_id,
                "chain_id": receipt.chain_id,
                "log_index": receipt.log_index,
                "artifacts": receipt.manifest.len(),
                "receipt": out.display().to_string(),
            })
        );
    } else {
        println!(
            "attested: {} artifacts, final at log index {}",
            receipt.manifest.len(),
            receipt.log_index
        );
        println!("  tx id        {}", receipt.tx_id);
        println!("  chain        {}", receipt.chain_id);
        println!("  receipt      {}", out.display());
        println!(
            "  verify       maat attest verify {} --artifacts {} --genesis genesis.json",
            out.display(),
            artifacts.display()
        );
    }
    Ok(Outcome::Success)
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The receipt (maat-attest-receipt/v1) or offline bundle (maat-attest-bundle/v1).
    receipt: PathBuf,
    /// The directory holding the attested files.
    #[arg(long)]
    artifacts: PathBuf,
    /// The chain's genesis file (required for a receipt).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// The signer's public key you trust: `<alg>:<base64>` or a key file (required for a
    /// bundle; for a receipt, additionally checks the signature under it).
    #[arg(long, value_name = "KEY")]
    public_key: Option<String>,
    /// The agent's intent chain file: the attested intents must be its first lines.
    #[arg(long)]
    chain: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What verified: the kind of document, the statement and the lines that describe its proof.
struct Verified {
    kind: &'static str,
    statement: StatementSummary,
    report: serde_json::Value,
    proof_lines: Vec<(String, String)>,
}

fn verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(&args.receipt)
        .with_context(|| format!("reading {}", args.receipt.display()))?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", args.receipt.display()))?;
    let trusted_key = args
        .public_key
        .as_deref()
        .map(parse_public_key)
        .transpose()?;
    if let Some(path) = &args.chain {
        // A missing file would read as an empty chain; here it is a mistyped path.
        std::fs::metadata(path).with_context(|| format!("--chain {}", path.display()))?;
    }
    let outcome = match doc.get("format").and_then(serde_json::Value::as_str) {
        Some(RECEIPT_FORMAT) => {
            let Some(genesis_path) = &args.genesis else {
                bail!("a receipt is checked against the chain's genesis file: pass --genesis FILE");
            };
            let genesis = Genesis::load(genesis_path)
                .with_context(|| format!("loading genesis {}", genesis_path.display()))?;
            verify_receipt_doc(doc, &genesis, trusted_key.as_ref(), &args.artifacts)
        }
        Some(BUNDLE_FORMAT) => {
            let Some(key) = &trusted_key else {
                let named = doc.get("public_key").and_then(serde_json::Value::as_str);
                bail!(
                    "an offline bundle is checked against a public key you trust: pass \
                     --public-key KEY (the bundle names {}, which only its author vouches for)",
                    named.unwrap_or("no key")
                );
            };
            verify_bundle_doc(doc, key, &args.artifacts)
        }
        _ => bail!(
            "{} is neither a receipt ({RECEIPT_FORMAT}) nor an offline bundle ({BUNDLE_FORMAT})",
            args.receipt.display()
        ),
    };
    let outcome = outcome.and_then(|v| match (&args.chain, &v.statement.session) {
        (Some(path), Some(session)) => {
            check_intents_against_chain(&session.intent_chain, &IntentChain::open(path)?)?;
            Ok(v)
        }
        (Some(_), None) => Err(AttestError::Claims(
            "--chain: the statement is not an agent session".into(),
        )),
        (None, _) => Ok(v),
    });
    match outcome {
        Ok(v) => {
            print_verified(&v, &args.artifacts, args.json);
            Ok(Outcome::Success)
        }
        Err(e) if e.is_verification_failure() => {
            print_failure(&e, args.json);
            Ok(Outcome::Rejected)
        }
        Err(e) => Err(e.into()),
    }
}

/// `<alg>:<base64>`, else a key file (public or secret; only the public key is read).
fn parse_public_key(text: &str) -> anyhow::Result<PublicKey> {
    if let Ok(key) = PublicKey::from_text(text) {
        return Ok(key);
    }
    load_public_key(text)
        .map(|k| k.public_key)
        .with_context(|| format!("--public-key {text}: neither <alg>:<base64> nor a key file"))
}

fn verify_receipt_doc(
    doc: serde_json::Value,
    genesis: &Genesis,
    trusted_key: Option<&PublicKey>,
    dir: &Path,
) -> Result<Verified, AttestError> {
    let receipt: AttestReceipt =
        serde_json::from_value(doc).map_err(|e| AttestError::Malformed {
            what: "receipt",
            reason: e.to_string(),
        })?;
    let report = verify_receipt(&receipt, genesis, dir)?;
    let mut proof_lines = vec![
        (
            "tx".to_owned(),
            format!(
                "{} from {}, log index {}, block {}",
                report.tx_id, report.submitter, report.log_index, report.block_height
            ),
        ),
        (
            "finality".to_owned(),
            format!(
                "certified by validators {} (checked against genesis {})",
                report
                    .finality_signers
                    .iter()
                    .map(|v| format!("v{v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                hex::encode(genesis.hash())
            ),
        ),
        (
            "checkpoint".to_owned(),
            format!(
                "tree size {}, cosigned by {} validators (voting power {}), entry included",
                report.checkpoint_tree_size, report.checkpoint_cosigners, report.checkpoint_power
            ),
        ),
    ];
    if let Some(key) = trusted_key {
        let keyid = verify_envelope_signature(&receipt.envelope()?, key)?;
        proof_lines.push((
            "key".to_owned(),
            format!("{keyid}'s signature verifies under {}", key.to_text()),
        ));
    }
    Ok(Verified {
        kind: "receipt",
        statement: report.statement.clone(),
        report: serde_json::to_value(&report).unwrap_or_default(),
        proof_lines,
    })
}

fn verify_bundle_doc(
    doc: serde_json::Value,
    key: &PublicKey,
    dir: &Path,
) -> Result<Verified, AttestError> {
    let bundle: OfflineBundle =
        serde_json::from_value(doc).map_err(|e| AttestError::Malformed {
            what: "bundle",
            reason: e.to_string(),
        })?;
    let report = verify_offline_bundle(&bundle, key, dir)?;
    Ok(Verified {
        kind: "bundle",
        statement: report.statement.clone(),
        report: serde_json::to_value(&report).unwrap_or_default(),
        proof_lines: vec![
            (
                "key".to_owned(),
                format!(
                    "{}'s signature verifies under {}",
                    report.signer, report.public_key
                ),
            ),
            (
                "chain".to_owned(),
                "none: an offline bundle is not on a chain (maat attest submit)".to_owned(),
            ),
        ],
    })
}

fn print_verified(v: &Verified, dir: &Path, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "verified": true, "kind": v.kind, "report": v.report })
        );
        return;
    }
    let s = &v.statement;
    let head = match v.kind {
        "receipt" => "VERIFIED",
        _ => "VERIFIED (signed offline, not on a chain)",
    };
    println!(
        "{head}: the {} files in {} are exactly the attested artifacts",
        s.artifacts,
        dir.display()
    );
    println!("  predicate    {}", s.predicate_type);
    println!("  signed by    {}", s.signers.join(", "));
    if let Some(p) = &s.session {
        println!("  agent        {} (session {})", p.agent_id, p.session_id);
        println!(
            "  intents      {} request{}, chain head {}{}",
            p.intent_chain.entries,
            if p.intent_chain.entries == 1 { "" } else { "s" },
            p.intent_chain.head,
            if p.intent_chain.request_sha256.is_empty() && p.intent_chain.entries > 0 {
                " (request hashes withheld)"
            } else {
                ""
            }
        );
        println!("  task         sha256 {}", p.task_parameters_sha256);
        println!("  time         {} to {}", p.started_on, p.finished_on);
        if let Some(r) = &p.runner {
            println!("  runner       {r}");
        }
    }
    for (label, text) in &v.proof_lines {
        println!("  {label:<12} {text}");
    }
}

fn print_failure(e: &AttestError, json: bool) {
    let diff = match e {
        AttestError::ArtifactMismatch(d) => Some(d),
        _ => None,
    };
    if json {
        let mut out = serde_json::json!({
            "verified": false,
            "error": e.kind(),
            "message": e.to_string(),
        });
        if let Some(d) = diff {
            out["missing"] = serde_json::json!(d.missing);
            out["extra"] = serde_json::json!(d.extra);
            out["changed"] = serde_json::json!(d.changed);
        }
        println!("{out}");
        return;
    }
    match diff {
        Some(d) => {
            println!(
                "NOT VERIFIED ({}): the files differ from the attested artifacts",
                e.kind()
            );
            for (label, names) in [
                ("missing", &d.missing),
                ("extra", &d.extra),
                ("changed", &d.changed),
            ] {
                for n in names {
                    println!("  {label:<8} {n}");
                }
            }
        }
        None => println!("NOT VERIFIED ({}): {e}", e.kind()),
    }
}
