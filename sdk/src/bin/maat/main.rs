//! `maat`: the command-line client CI pipelines and auditors run (API.md).
//! Exit codes: 0 accepted / success, 1 rejected, 2 usage or configuration error.

mod cert;
mod keygen;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "maat",
    version,
    about = "Maat client: signing keys and Proof-of-Deploy certificates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a signing key file (written 0600).
    Keygen(keygen::KeygenArgs),
    /// Build and check certificates.
    #[command(subcommand)]
    Cert(cert::CertCommand),
}

/// What a command ended with; errors are usage/configuration failures (exit 2).
pub enum Outcome {
    Success,
    Rejected,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(args),
        Command::Cert(cmd) => cert::run(cmd),
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
