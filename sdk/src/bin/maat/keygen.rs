//! `maat keygen`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use maat_crypto::keyfile::write_key_file;
use maat_crypto::sig::{Algorithm, KeyPair};

use crate::Outcome;

#[derive(Clone, Copy, ValueEnum)]
pub enum Alg {
    Ed25519,
    Mldsa65,
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Signature algorithm: Ed25519 or ML-DSA-65 (FIPS 204).
    #[arg(long, value_enum, default_value = "ed25519")]
    alg: Alg,
    /// Where to write the key file; an existing file is never overwritten.
    #[arg(long)]
    out: PathBuf,
    /// The identity id this key signs as (recorded in the file, used as evidence `signer`).
    #[arg(long)]
    id: Option<String>,
}

pub fn run(args: KeygenArgs) -> anyhow::Result<Outcome> {
    let alg = match args.alg {
        Alg::Ed25519 => Algorithm::Ed25519,
        Alg::Mldsa65 => Algorithm::MlDsa65,
    };
    let key = KeyPair::try_generate(alg).context("no randomness from the operating system")?;
    write_key_file(&args.out, &key, args.id.as_deref())
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!("wrote {} ({}, mode 0600)", args.out.display(), alg.as_str());
    // The public key on stdout, so scripts can register it.
    println!("{}", key.public().to_text());
    Ok(Outcome::Success)
}
