//! `maat identity`: register an identity (an admin's transaction) and show one.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use maat_crypto::keyfile::{load_key_file, load_public_key};
use maat_crypto::sig::PublicKey;
use maat_sdk::client::ClientError;

use crate::Outcome;
use crate::block_on;
use crate::node::{NodeArg, parse_duration, print_rejection};

#[derive(Subcommand)]
pub enum IdentityCommand {
    /// Register a new identity (signed by an admin) and wait until it is final.
    Register(RegisterArgs),
    /// Show an identity's registry record.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct RegisterArgs {
    /// The new identity's key file (only its public key and `id` are read) or public key text
    /// (`ed25519:<base64>`, `mldsa65:<base64>`).
    public_key: String,
    /// The identity id (default: the key file's `id`).
    #[arg(long)]
    id: Option<String>,
    /// A role to grant (repeatable), e.g. `owner:checkout`.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,
    /// The admin's key file (its `id` names the submitting admin).
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    node: NodeArg,
    /// How long to wait for finality.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The identity id.
    id: String,
    #[command(flatten)]
    node: NodeArg,
}

pub fn run(cmd: IdentityCommand) -> anyhow::Result<Outcome> {
    match cmd {
        IdentityCommand::Register(args) => block_on(register(args)),
        IdentityCommand::Show(args) => block_on(show(args)),
    }
}

/// A public key from a key file (public or secret) or from its text form, with the file's id.
fn public_key(arg: &str) -> anyhow::Result<(PublicKey, Option<String>)> {
    if let Ok(key) = PublicKey::from_text(arg) {
        return Ok((key, None));
    }
    let loaded = load_public_key(arg).with_context(|| {
        format!("`{arg}` is neither a public key (ed25519:<base64>) nor a readable key file")
    })?;
    Ok((loaded.public_key, loaded.id))
}

async fn register(args: RegisterArgs) -> anyhow::Result<Outcome> {
    let (key, file_id) = public_key(&args.public_key)?;
    let id = args
        .id
        .or(file_id)
        .ok_or_else(|| anyhow!("the key has no `id`: pass --id"))?;
    let admin =
        load_key_file(&args.key).with_context(|| format!("loading key {}", args.key.display()))?;
    let submitter = admin
        .id
        .clone()
        .ok_or_else(|| anyhow!("the admin key file has no `id`"))?;
    let client = args.node.connect().await?;
    let status = client.status().await.context("reading the node's status")?;
    let nonce = client
        .identity(&submitter)
        .await?
        .and_then(|r| r.get("last_nonce").and_then(serde_json::Value::as_u64))
        .ok_or_else(|| {
            anyhow!(
                "`{submitter}` is not a registered identity on {}",
                status.chain_id
            )
        })?
        + 1;
    let roles: Vec<&str> = args.roles.iter().map(String::as_str).collect();
    let payload = maat_proto::tx::payload(
        &status.chain_id,
        &submitter,
        nonce,
        maat_proto::tx::body::register(&id, &key, &roles),
    );
    let tx = maat_proto::encode(&maat_proto::tx::sign(payload, &admin.key_pair));
    let submitted = match client.submit_tx(&tx).await {
        Ok(tx_id) => client.wait_for_finality(tx_id, args.timeout).await,
        Err(e) => Err(e),
    };
    match submitted {
        Ok(fin) => {
            println!(
                "registered `{id}` ({}) at height {}, log index {}",
                key.to_text(),
                fin.height,
                fin.log_index
            );
            Ok(Outcome::Success)
        }
        Err(ClientError::Rejected { message, rejection }) => {
            print_rejection(&message, &rejection.code, &rejection.codes, false);
            Ok(Outcome::Rejected)
        }
        Err(e) => Err(e).context("registering the identity"),
    }
}

async fn show(args: ShowArgs) -> anyhow::Result<Outcome> {
    let client = args.node.connect().await?;
    match client.identity(&args.id).await? {
        Some(record) => {
            println!("{}", serde_json::to_string_pretty(&record)?);
            Ok(Outcome::Success)
        }
        None => {
            eprintln!("`{}` is not a registered identity", args.id);
            Ok(Outcome::Rejected)
        }
    }
}
