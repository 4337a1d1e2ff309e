//! The commands that talk to a node (`cert submit`, `tx status`, `proof get`, `status`) and the
//! offline `proof verify`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use maat_crypto::keyfile::load_key_file;
use maat_ledger::Genesis;
use maat_ledger::finality::{FinalityProof, Finalized, verify_checkpoint};
use maat_proto::TxId;
use maat_rpc::{CheckpointInfo, TxStatus};
use maat_sdk::client::{Client, ClientError};

use crate::Outcome;

/// `--timeout 30s` / `500ms` / `2m` / `45` (seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 500ms or 2m"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("`{text}`: unit must be ms, s or m")),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("`{text}`: must be between 1 ms and 24 h"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_tx_id(text: &str) -> anyhow::Result<TxId> {
    let bytes = hex::decode(text.trim()).map_err(|_| anyhow!("`{text}` is not a hex tx id"))?;
    TxId::from_slice(&bytes).ok_or_else(|| anyhow!("a tx id is 32 bytes (64 hex characters)"))
}

#[derive(Args)]
pub struct NodeArg {
    /// The node: `http://HOST:PORT` or `ws://HOST:PORT` (JSON-RPC), `grpc://HOST:PORT` (gRPC).
    #[arg(long, env = "MAAT_NODE", default_value = "http://127.0.0.1:26657")]
    node: String,
}

impl NodeArg {
    pub(crate) async fn connect(&self) -> anyhow::Result<Client> {
        Client::connect(&self.node)
            .await
            .with_context(|| format!("connecting to {}", self.node))
    }
}

#[derive(Args)]
pub struct SubmitArgs {
    /// The certificate JSON (from `maat cert build`).
    cert: PathBuf,
    /// The submitter's key file (a registered identity; its `id` names the submitter).
    #[arg(long)]
    key: PathBuf,
    /// Submitter id (default: the key file's `id`).
    #[arg(long)]
    submitter: Option<String>,
    /// Nonce (default: the submitter's last committed nonce + 1, read from the node).
    #[arg(long)]
    nonce: Option<u64>,
    #[command(flatten)]
    node: NodeArg,
    /// Wait until the certificate is final (or rejected) and print the receipt.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// With `--wait`: also write the finality proof here.
    #[arg(long, value_name = "FILE")]
    proof_out: Option<PathBuf>,
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn cert_submit(args: SubmitArgs) -> anyhow::Result<Outcome> {
    let cert =
        std::fs::read(&args.cert).with_context(|| format!("reading {}", args.cert.display()))?;
    let key =
        load_key_file(&args.key).with_context(|| format!("loading key {}", args.key.display()))?;
    let submitter = args
        .submitter
        .clone()
        .or_else(|| key.id.clone())
        .ok_or_else(|| anyhow!("the key file has no `id`; pass --submitter"))?;
    let client = args.node.connect().await?;
    let status = client.status().await.context("reading the node's status")?;
    let nonce = match args.nonce {
        Some(n) => n,
        None => {
            let identity = client
                .identity(&submitter)
                .await
                .context("reading the submitter's identity")?
                .ok_or_else(|| {
                    anyhow!(
                        "`{submitter}` is not a registered identity on {}",
                        status.chain_id
                    )
                })?;
            identity
                .get("last_nonce")
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| anyhow!("the node did not report `{submitter}`'s last nonce"))?
                + 1
        }
    };
    let payload = maat_proto::tx::payload(
        &status.chain_id,
        &submitter,
        nonce,
        maat_proto::tx::body::certificate(cert),
    );
    let tx = maat_proto::encode(&maat_proto::tx::sign(payload, &key.key_pair));
    let tx_id = match client.submit_certificate(&tx).await {
        Ok(id) => id,
        Err(ClientError::Rejected { message, rejection }) => {
            print_rejection(&message, &rejection.code, &rejection.codes, args.json);
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e).context("submitting the certificate"),
    };
    if !args.wait {
        if args.json {
            println!(
                "{}",
                serde_json::json!({ "tx_id": tx_id.to_hex(), "status": "pending" })
            );
        } else {
            println!("submitted {} (nonce {nonce}); not waiting", tx_id.to_hex());
        }
        return Ok(Outcome::Success);
    }

    let spinner = Spinner::new(format!("waiting for {} to be final", short(&tx_id)));
    let waited = client.wait_for_finality(tx_id, args.timeout).await;
    spinner.finish();
    let finalized = match waited {
        Ok(f) => f,
        Err(ClientError::Rejected { message, rejection }) => {
            print_rejection(&message, &rejection.code, &rejection.codes, args.json);
            return Ok(Outcome::Rejected);
        }
        Err(e) => return Err(e).context("waiting for finality"),
    };
    // The proof and a checkpoint covering the entry follow the commit within moments.
    let deadline = Instant::now() + Duration::from_secs(10).min(args.timeout);
    let proof = loop {
        match client.finality_proof(tx_id).await {
            Ok(Some(p)) => break Some(p),
            Ok(None) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => break None,
        }
    };
    let checkpoint = loop {
        match client.checkpoint(None).await {
            Ok(Some(c)) if c.tree_size > finalized.log_index => break Some(c),
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => break None,
        }
    };
    if let (Some(p), Some(path)) = (&proof, &args.proof_out) {
        write_json(path, p, true)?;
    }
    let receipt = serde_json::json!({
        "tx_id": tx_id.to_hex(),
        "status": "finalized",
        "chain_id": status.chain_id,
        "height": finalized.height,
        "position": finalized.position,
        "log_index": finalized.log_index,
        "checkpoint": checkpoint.as_ref().map(|c| serde_json::json!({
            "tree_size": c.tree_size,
            "root": hex::encode(c.root),
            "cosigners": c.cosigners,
            "quorum": c.quorum,
        })),
        "proof_file": args.proof_out.as_ref().map(|p| p.display().to_string()),
    });
    if args.json {
        println!("{receipt}");
    } else {
        println!("finalized: certificate accepted by the network");
        println!("  tx id        {}", tx_id.to_hex());
        println!("  chain        {}", status.chain_id);
        println!(
            "  height       {} (position {})",
            finalized.height, finalized.position
        );
        println!("  log index    {}", finalized.log_index);
        match &checkpoint {
            Some(c) => println!(
                "  checkpoint   tree size {}, root {}, {} of {} needed cosignatures",
                c.tree_size,
                hex::encode(c.root),
                c.cosigners,
                c.quorum
            ),
            None => println!("  checkpoint   none covering this entry yet"),
        }
        match (&proof, &args.proof_out) {
            (Some(_), Some(path)) => println!(
                "  proof        {} (check offline: maat proof verify {} --genesis genesis.json)",
                path.display(),
                path.display()
            ),
            _ => println!(
                "  proof        maat proof get {} --node {}",
                tx_id.to_hex(),
                args.node.node
            ),
        }
    }
    Ok(Outcome::Success)
}

pub(crate) fn print_rejection(message: &str, code: &str, codes: &[String], json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "status": "rejected", "code": code, "codes": codes, "message": message })
        );
    } else {
        println!("rejected: {code}: {message}");
        for c in codes {
            println!("  {c}");
        }
    }
}

fn short(id: &TxId) -> String {
    id.to_hex()[..12].to_owned()
}

/// Writes `value` as pretty JSON and syncs it; refuses an existing file unless `force`.
pub(crate) fn write_json(
    path: &Path,
    value: &impl serde::Serialize,
    force: bool,
) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .create_new(!force)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// A one-line progress indicator on standard error while waiting (only on a terminal, so CI
/// logs stay clean).
struct Spinner {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Spinner {
    fn new(what: String) -> Spinner {
        if !std::io::stderr().is_terminal() {
            return Spinner {
                stop: None,
                task: None,
            };
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let frames = ['|', '/', '-', '\\'];
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(120));
            for i in 0usize.. {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let mut err = std::io::stderr();
                        let _ = write!(
                            err,
                            "\r{} {what} ({:.1} s)",
                            frames[i % frames.len()],
                            start.elapsed().as_secs_f64()
                        );
                        let _ = err.flush();
                    }
                }
            }
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        });
        Spinner {
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn finish(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            // Let it clear the line; it ends right after the stop signal.
            drop(t);
        }
    }
}

#[derive(Subcommand)]
pub enum TxCommand {
    /// Where a transaction is: unknown, pending, finalized (height, log index) or rejected.
    Status(TxStatusArgs),
}

#[derive(Args)]
pub struct TxStatusArgs {
    /// The transaction id (64 hex characters).
    tx_id: String,
    #[command(flatten)]
    node: NodeArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn tx(cmd: TxCommand) -> anyhow::Result<Outcome> {
    let TxCommand::Status(args) = cmd;
    let id = parse_tx_id(&args.tx_id)?;
    let status = args.node.connect().await?.tx_status(id).await?;
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
    } else {
        match &status {
            TxStatus::Unknown => println!("unknown: the node has not seen {}", id.to_hex()),
            TxStatus::Pending => println!("pending: in the mempool, not committed yet"),
            TxStatus::Finalized {
                height,
                position,
                log_index,
            } => println!("finalized: height {height}, position {position}, log index {log_index}"),
            TxStatus::Rejected {
                code,
                numeric_code,
                details,
            } => {
                println!("rejected: {code} ({numeric_code})");
                for d in details {
                    println!("  {d}");
                }
            }
        }
    }
    Ok(match status {
        TxStatus::Rejected { .. } => Outcome::Rejected,
        _ => Outcome::Success,
    })
}

#[derive(Subcommand)]
pub enum ProofCommand {
    /// Fetch a finalized transaction's finality proof (JSON on standard output).
    Get(ProofGetArgs),
    /// Verify a finality proof offline against a genesis file; exit 0 valid, 1 invalid.
    Verify(ProofVerifyArgs),
}

#[derive(Args)]
pub struct ProofGetArgs {
    /// The transaction id (64 hex characters).
    tx_id: String,
    #[command(flatten)]
    node: NodeArg,
    /// Write the proof here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct ProofVerifyArgs {
    /// The proof (from `maat proof get`).
    proof: PathBuf,
    /// The chain's genesis file (JSON or TOML).
    #[arg(long)]
    genesis: PathBuf,
    /// A cosigned checkpoint note (from `maat_getCheckpoint`) to check as well: it must be
    /// final and cover the proof's log index.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn proof(cmd: ProofCommand) -> anyhow::Result<Outcome> {
    match cmd {
        ProofCommand::Get(args) => {
            let id = parse_tx_id(&args.tx_id)?;
            let client = args.node.connect().await?;
            let Some(proof) = client.finality_proof(id).await? else {
                bail!(
                    "{} is not finalized on this node (maat tx status {} for details)",
                    id.to_hex(),
                    id.to_hex()
                );
            };
            match &args.out {
                Some(path) => write_json(path, &proof, true)?,
                None => println!("{}", serde_json::to_string_pretty(&proof)?),
            }
            Ok(Outcome::Success)
        }
        ProofCommand::Verify(args) => verify(&args),
    }
}

fn verify(args: &ProofVerifyArgs) -> anyhow::Result<Outcome> {
    let genesis = Genesis::load(&args.genesis)
        .with_context(|| format!("loading genesis {}", args.genesis.display()))?;
    let text = std::fs::read_to_string(&args.proof)
        .with_context(|| format!("reading {}", args.proof.display()))?;
    let proof: FinalityProof = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a finality proof", args.proof.display()))?;
    let outcome = maat_sdk::verify_finality_proof(&proof, &genesis)
        .map_err(VerifyFailure::from)
        .and_then(|f| {
            if let Some(path) = &args.checkpoint {
                check_checkpoint(path, &genesis, &f)?;
            }
            Ok(f)
        });
    match outcome {
        Ok(f) => {
            print_verified(&f, &genesis, args.json);
            Ok(Outcome::Success)
        }
        Err(e) => {
            let (kind, message) = match e {
                VerifyFailure::Proof(e) => (failure_kind(&e), e.to_string()),
                VerifyFailure::Checkpoint(m) => ("checkpoint", m),
            };
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "valid": false, "error": kind, "message": message })
                );
            } else {
                println!("INVALID ({kind}): {message}");
            }
            Ok(Outcome::Rejected)
        }
    }
}

enum VerifyFailure {
    Proof(maat_ledger::finality::FinalityError),
    Checkpoint(String),
}

impl From<maat_ledger::finality::FinalityError> for VerifyFailure {
    fn from(e: maat_ledger::finality::FinalityError) -> Self {
        VerifyFailure::Proof(e)
    }
}

fn check_checkpoint(path: &Path, genesis: &Genesis, f: &Finalized) -> Result<(), VerifyFailure> {
    let note = std::fs::read_to_string(path)
        .map_err(|e| VerifyFailure::Checkpoint(format!("reading {}: {e}", path.display())))?;
    let v =
        verify_checkpoint(&note, genesis).map_err(|e| VerifyFailure::Checkpoint(e.to_string()))?;
    if v.checkpoint.tree_size < f.tree_size {
        return Err(VerifyFailure::Checkpoint(format!(
            "the checkpoint (tree size {}) is older than the proof's log (size {})",
            v.checkpoint.tree_size, f.tree_size
        )));
    }
    if v.checkpoint.tree_size == f.tree_size && v.checkpoint.root != f.log_root {
        return Err(VerifyFailure::Checkpoint(
            "the checkpoint's root differs from the proof's log root at the same size".into(),
        ));
    }
    Ok(())
}

/// A stable, distinct name per failure kind (scripts match on it; `--json` prints it).
fn failure_kind(e: &maat_ledger::finality::FinalityError) -> &'static str {
    use maat_ledger::finality::FinalityError as E;
    match e {
        E::BadGenesis(_) => "bad_genesis",
        E::UnsupportedVersion(_) => "unsupported_version",
        E::WrongGenesis { .. } => "wrong_genesis",
        E::Malformed { .. } => "malformed",
        E::HeaderNotLinked(_) => "header_not_linked",
        E::NotCommitted { .. } => "not_committed",
        E::QcForAnotherBlock => "qc_for_another_block",
        E::QcBelowQuorum(_) => "qc_below_quorum",
        E::QcUnknownSigner(..) => "qc_unknown_signer",
        E::QcBadSignature(..) => "qc_bad_signature",
        E::QcMalformed(..) => "qc_malformed",
        E::TreeSizeMismatch { .. } => "tree_size_mismatch",
        E::NotIncluded { .. } => "not_included",
        E::HeightAboveAnchor { .. } => "height_above_anchor",
    }
}

fn print_verified(f: &Finalized, genesis: &Genesis, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "valid": true,
                "tx_id": f.tx_id.to_hex(),
                "chain_id": genesis.chain_id(),
                "log_index": f.log_index,
                "block_height": f.block_height,
                "anchor_height": f.anchor_height,
                "anchor_block_id": f.anchor_id.to_string(),
                "tree_size": f.tree_size,
                "log_root": hex::encode(f.log_root),
                "signers": f.signers,
            })
        );
        return;
    }
    println!("VALID: finalized by a quorum of the genesis validators");
    println!("  tx id        {}", f.tx_id.to_hex());
    println!(
        "  chain        {} (genesis {})",
        genesis.chain_id(),
        hex::encode(genesis.hash())
    );
    println!("  log index    {} of {}", f.log_index, f.tree_size);
    println!("  log root     {}", hex::encode(f.log_root));
    println!(
        "  block        height {} (committed with block {} at height {})",
        f.block_height, f.anchor_id, f.anchor_height
    );
    println!(
        "  signers      {} validators ({})",
        f.signers.len(),
        f.signers
            .iter()
            .map(|v| format!("v{v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    node: NodeArg,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<Outcome> {
    let client = args.node.connect().await?;
    let s = client.status().await?;
    let checkpoint: Option<CheckpointInfo> = client.checkpoint(None).await.ok().flatten();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "status": s, "checkpoint": checkpoint.as_ref().map(|c| serde_json::json!({
                "tree_size": c.tree_size, "root": hex::encode(c.root), "cosigners": c.cosigners,
            })) })
        );
        return Ok(Outcome::Success);
    }
    println!(
        "chain        {} ({})",
        s.chain_id,
        hex::encode(s.genesis_hash)
    );
    println!("height       {} (round {})", s.height, s.round);
    println!(
        "node         {}, {} peers{}",
        match s.validator {
            Some(v) => format!("validator v{v}"),
            None => "full node".into(),
        },
        s.peers,
        if s.syncing { ", syncing" } else { "" }
    );
    println!("mempool      {} transactions", s.mempool_txs);
    println!("log          {} entries", s.log_size);
    match checkpoint {
        Some(c) => println!(
            "checkpoint   tree size {}, {} cosignatures (quorum {})",
            c.tree_size, c.cosigners, c.quorum
        ),
        None => println!("checkpoint   none yet"),
    }
    Ok(Outcome::Success)
}
