//! `maat`: the command-line client CI pipelines and auditors run (API.md).
//! Exit codes: 0 accepted / success, 1 rejected, 2 usage or configuration error.

mod attest;
mod audit;
mod cert;
mod identity;
mod keygen;
mod node;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "maat",
    version,
    about = "Maat client: signing keys, Proof-of-Deploy certificates, audit chains and attestations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a signing key file (written 0600).
    Keygen(keygen::KeygenArgs),
    /// Build, check and submit certificates.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Transactions on a node.
    #[command(subcommand)]
    Tx(node::TxCommand),
    /// Finality proofs: fetch from a node, verify offline.
    #[command(subcommand)]
    Proof(node::ProofCommand),
    /// A node's status (chain, height, peers, latest checkpoint).
    Status(node::StatusArgs),
    /// Identities: register one (an admin's transaction), show one.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Agent audit chains: append records, export bundles, verify them offline.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// The agent-session flow: intents, attested runs, offline verification.
    #[command(subcommand)]
    Attest(attest::AttestCommand),
}

/// What a command ended with; errors are usage/configuration failures (exit 2).
pub enum Outcome {
    Success,
    Rejected,
}

/// Runs a node command on a small runtime (only those commands need one).
fn block_on(
    f: impl std::future::Future<Output = anyhow::Result<Outcome>>,
) -> anyhow::Result<Outcome> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))?
        .block_on(f)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Cert(cmd) => cert::run(cmd),
        Command::Tx(cmd) => block_on(node::tx(cmd)),
        Command::Proof(cmd) => block_on(node::proof(cmd)),
        Command::Status(args) => block_on(node::status(args)),
        Command::Identity(cmd) => identity::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Attest(cmd) => attest::run(cmd),
    };
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Rejected) => ExitCode::from(1),
        Err(e) => {
            eprintln!("maat: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
