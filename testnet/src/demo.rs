//! `maat-testnet demo`: the first thing a newcomer runs. Starts the network (creating it if
//! needed), registers a CI identity, a scanner, a submitter and the `checkout`/`production`
//! policy, builds and signs a sample maat-v1 certificate, submits it to one validator, waits
//! until it is final, fetches its finality proof and a cosigned checkpoint, verifies both
//! offline against the genesis file, writes them next to the certificate and prints the receipt.

use std::path::PathBuf;
use std::time::Duration;

use maat_sdk::proof::{verify_checkpoint, verify_finality_proof};
use serde::Serialize;

use crate::TestnetError;
use crate::net::Testnet;

/// What the demo produced.
#[derive(Clone, Debug, Serialize)]
pub struct Receipt {
    /// The transaction id (hex).
    pub tx_id: String,
    /// The chain id.
    pub chain_id: String,
    /// Its block height.
    pub height: u64,
    /// Its position in the block.
    pub position: u32,
    /// Its index in the transparency log.
    pub log_index: u64,
    /// The deployment the certificate authorizes.
    pub deployment_id: String,
    /// The node it was submitted to.
    pub submitted_to: String,
    /// The proof's anchor block (height) and the QC signers of its child (validator indexes).
    pub anchor_height: u64,
    /// Validators whose votes certify the commit.
    pub qc_signers: Vec<u32>,
    /// The log size of the checkpoint covering it, and its cosigners.
    pub checkpoint_tree_size: u64,
    /// How many validators cosigned that checkpoint.
    pub checkpoint_cosigners: usize,
    /// Files written.
    pub certificate_file: PathBuf,
    /// The finality proof.
    pub proof_file: PathBuf,
    /// The checkpoint note.
    pub checkpoint_file: PathBuf,
    /// The genesis file the proof was verified against.
    pub genesis_file: PathBuf,
}

impl Receipt {
    /// The human receipt.
    #[must_use]
    pub fn render(&self) -> String {
        format!(
            "RECEIPT: certificate finalized and verified offline\n\
             \x20 tx id         {}\n\
             \x20 deployment    {} (checkout → production)\n\
             \x20 chain         {}\n\
             \x20 submitted to  {}\n\
             \x20 block         height {}, position {}\n\
             \x20 log index     {}\n\
             \x20 finality      anchor height {}, quorum certificate signed by validators {:?}\n\
             \x20 checkpoint    tree size {}, cosigned by {} validators\n\
             \x20 files         {}\n\
             \x20               {}\n\
             \x20               {}\n\
             \x20 check again   maat proof verify {} --genesis {}",
            self.tx_id,
            self.deployment_id,
            self.chain_id,
            self.submitted_to,
            self.height,
            self.position,
            self.log_index,
            self.anchor_height,
            self.qc_signers,
            self.checkpoint_tree_size,
            self.checkpoint_cosigners,
            self.certificate_file.display(),
            self.proof_file.display(),
            self.checkpoint_file.display(),
            self.proof_file.display(),
            self.genesis_file.display(),
        )
    }
}

fn write(path: &std::path::Path, text: &str) -> Result<(), TestnetError> {
    std::fs::write(path, text).map_err(|source| TestnetError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Runs the demo's transactions on a running testnet; `progress` gets one line per step.
///
/// # Errors
/// [`TestnetError`].
pub async fn run(
    net: &Testnet,
    seed: [u8; 32],
    mut progress: impl FnMut(&str),
) -> Result<Receipt, TestnetError> {
    let genesis = net.genesis()?;
    let genesis_file = net.dir.join("genesis.json");
    let validators: Vec<_> = net.validators_running();
    let (first, second) = match validators.as_slice() {
        [a, b, ..] => (a.clone(), b.clone()),
        [a] => (a.clone(), a.clone()),
        [] => return Err(TestnetError::Config("no validator is running".into())),
    };
    let c1 = net.client(&first)?;
    let w = crate::load::admin_workload(net, &c1, seed, 1).await?;

    progress(
        "registering identities (CI signer, scanner, submitter) and the checkout/production policy, signed by the genesis admin",
    );
    let mut last = None;
    for tx in w.setup_txs() {
        last = Some(c1.submit_tx(&tx).await?);
    }
    // Both nodes must know the new identities before the certificate goes to the second.
    let c2 = net.client(&second)?;
    if let Some(id) = last {
        c1.wait_for_finality(id, Duration::from_secs(120)).await?;
        c2.wait_for_finality(id, Duration::from_secs(120)).await?;
    }

    let now = maat_node::home::now_ms();
    let out = net.dir.join("demo");
    std::fs::create_dir_all(&out).map_err(|source| TestnetError::Io {
        path: out.clone(),
        source,
    })?;
    let certificate_file = out.join("certificate.json");
    let cert = w.certificate_json(0, now);
    write(&certificate_file, &String::from_utf8_lossy(&cert))?;
    progress(&format!(
        "built a maat-v1 certificate for deployment {} (7 signed evidence objects) -> {}",
        w.deployment_id(0),
        certificate_file.display()
    ));

    let tx = w.certificate_tx(0, now);
    let tx_id = c2.submit_certificate(&tx).await?;
    progress(&format!(
        "submitted {} to {}; waiting for finality",
        tx_id.to_hex(),
        second.name
    ));
    let fin = c2
        .wait_for_finality(tx_id, Duration::from_secs(120))
        .await?;

    // The proof and a checkpoint covering the entry follow the commit within moments.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let proof = loop {
        if let Some(p) = c2.finality_proof(tx_id).await? {
            break p;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(TestnetError::Timeout(
                "no finality proof within 60 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let checkpoint = loop {
        if let Some(c) = c2.checkpoint(None).await?
            && c.is_final
            && c.tree_size > fin.log_index
        {
            break c;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(TestnetError::Timeout(
                "no checkpoint covering the entry within 60 s".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    progress("verifying the finality proof and the checkpoint offline, against genesis.json only");
    let verified =
        verify_finality_proof(&proof, &genesis).map_err(|e| TestnetError::Proof(e.to_string()))?;
    if verified.tx_id != tx_id || verified.log_index != fin.log_index {
        return Err(TestnetError::Proof(format!(
            "the proof is for {} at {}, not {} at {}",
            verified.tx_id.to_hex(),
            verified.log_index,
            tx_id.to_hex(),
            fin.log_index
        )));
    }
    let cp = verify_checkpoint(&checkpoint.note, &genesis)
        .map_err(|e| TestnetError::Proof(format!("checkpoint: {e}")))?;
    let proof_file = out.join("proof.json");
    let checkpoint_file = out.join("checkpoint.txt");
    let mut text =
        serde_json::to_string_pretty(&proof).map_err(|e| TestnetError::Proof(e.to_string()))?;
    text.push('\n');
    write(&proof_file, &text)?;
    write(&checkpoint_file, &checkpoint.note)?;
    Ok(Receipt {
        tx_id: tx_id.to_hex(),
        chain_id: genesis.chain_id().to_owned(),
        height: fin.height,
        position: fin.position,
        log_index: fin.log_index,
        deployment_id: w.deployment_id(0),
        submitted_to: second.name.clone(),
        anchor_height: verified.anchor_height,
        qc_signers: verified.signers,
        checkpoint_tree_size: cp.checkpoint.tree_size,
        checkpoint_cosigners: cp.signers.len(),
        certificate_file,
        proof_file,
        checkpoint_file,
        genesis_file,
    })
}
