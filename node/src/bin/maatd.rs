//! `maatd`: the Maat node (a validator, or a full node when its key is not in the genesis).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use maat_ledger::ChainParams;
use maat_node::config::NodeConfig;
use maat_node::home::{self, InitOptions, TestnetOptions};

#[derive(Parser)]
#[command(
    name = "maatd",
    version,
    about = "Maat node: a validator, or a full node when its key is not in the genesis validator set"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node home: keys, genesis (given or a new one-validator chain) and a config
    /// file with every default written out. With `--genesis` the keys are fresh: the node runs
    /// as a full node (follows and serves the chain, never votes) unless its validator key and
    /// peer id are added to that genesis.
    Init {
        /// Home directory.
        #[arg(long, env = "MAAT_HOME")]
        home: PathBuf,
        /// Join this chain (genesis JSON/TOML file) instead of creating one.
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Chain id of a new chain.
        #[arg(long, default_value = "maat-local-1")]
        chain_id: String,
    },
    /// Generate N validator homes sharing one genesis, on 127.0.0.1 ports base+i.
    Testnet {
        /// Output directory (node0, node1, ..., admin.json).
        #[arg(long)]
        out: PathBuf,
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Chain id.
        #[arg(long, default_value = "maat-testnet-1")]
        chain_id: String,
        /// 64 hex chars; every key derives from it (default: random).
        #[arg(long)]
        seed: Option<String>,
        /// First p2p port.
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// First JSON-RPC port.
        #[arg(long, default_value_t = 36657)]
        rpc_port: u16,
        /// First gRPC port.
        #[arg(long, default_value_t = 39090)]
        grpc_port: u16,
        /// First metrics port.
        #[arg(long, default_value_t = 46660)]
        metrics_port: u16,
        /// Initial round timeout in ms (genesis parameter).
        #[arg(long, default_value_t = 1000)]
        round_timeout_ms: u64,
        /// Empty-block interval in ms (genesis parameter).
        #[arg(long, default_value_t = 1000)]
        empty_block_interval_ms: u64,
    },
    /// Run the node until SIGTERM or SIGINT: as a validator if the home's key is in the
    /// genesis validator set, otherwise as a full node.
    Start {
        /// Home directory.
        #[arg(long, env = "MAAT_HOME")]
        home: PathBuf,
        /// Override any setting: `section.key=value` (repeatable; wins over MAAT_ variables).
        #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
        sets: Vec<String>,
        /// Shorthand for `--set p2p.listen=ADDR`.
        #[arg(long)]
        p2p_listen: Option<String>,
        /// Shorthand for `--set p2p.bootstrap=ADDR[,ADDR...]`.
        #[arg(long)]
        bootstrap: Option<String>,
        /// Shorthand for `--set rpc.listen=ADDR`.
        #[arg(long)]
        rpc_listen: Option<String>,
        /// Shorthand for `--set rpc.grpc_listen=ADDR`.
        #[arg(long)]
        grpc_listen: Option<String>,
        /// Shorthand for `--set metrics.listen=ADDR`.
        #[arg(long)]
        metrics_listen: Option<String>,
        /// Shorthand for `--set log.level=FILTER`.
        #[arg(long)]
        log_level: Option<String>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("maatd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init {
            home,
            genesis,
            chain_id,
        } => {
            home::init(
                &home,
                &InitOptions {
                    genesis,
                    chain_id,
                    config: NodeConfig::default(),
                },
            )?;
            println!("initialized {}", home.display());
            Ok(())
        }
        Command::Testnet {
            out,
            validators,
            chain_id,
            seed,
            p2p_port,
            rpc_port,
            grpc_port,
            metrics_port,
            round_timeout_ms,
            empty_block_interval_ms,
        } => {
            let seed = match seed {
                Some(hexs) => {
                    let v = hex::decode(&hexs).context("--seed is not hex")?;
                    <[u8; 32]>::try_from(v.as_slice())
                        .map_err(|_| anyhow::anyhow!("--seed must be 32 bytes (64 hex chars)"))?
                }
                None => {
                    let k =
                        maat_crypto::sig::KeyPair::generate(maat_crypto::sig::Algorithm::Ed25519);
                    *k.secret_seed()
                }
            };
            let mut params = ChainParams::default();
            params.timeouts.initial_round_ms = round_timeout_ms;
            params.empty_block_interval_ms = empty_block_interval_ms;
            let (nodes, genesis) = home::testnet(
                &out,
                &TestnetOptions {
                    validators,
                    chain_id,
                    seed,
                    genesis_time_ms: home::now_ms(),
                    params,
                    p2p_base_port: p2p_port,
                    rpc_base_port: rpc_port,
                    grpc_base_port: grpc_port,
                    metrics_base_port: metrics_port,
                },
            )?;
            println!(
                "chain {} ({})",
                genesis.chain_id(),
                hex::encode(genesis.hash())
            );
            for n in nodes {
                println!(
                    "{}  rpc {}  grpc {}  p2p {}",
                    n.home.display(),
                    n.rpc_url,
                    n.grpc_url,
                    n.p2p_addr
                );
            }
            Ok(())
        }
        Command::Start {
            home,
            mut sets,
            p2p_listen,
            bootstrap,
            rpc_listen,
            grpc_listen,
            metrics_listen,
            log_level,
        } => {
            for (key, value) in [
                ("p2p.listen", p2p_listen),
                ("p2p.bootstrap", bootstrap),
                ("rpc.listen", rpc_listen),
                ("rpc.grpc_listen", grpc_listen),
                ("metrics.listen", metrics_listen),
                ("log.level", log_level),
            ] {
                if let Some(v) = value {
                    sets.push(format!("{key}={v}"));
                }
            }
            let config = NodeConfig::load(&home.join("config.toml"), std::env::vars(), &sets)?;
            init_logging(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            runtime.block_on(async {
                maat_node::run(&home, config, shutdown_signal(), |bound| {
                    tracing::info!(rpc = ?bound.rpc, metrics = ?bound.metrics, "ready");
                })
                .await
            })?;
            Ok(())
        }
    }
}

fn init_logging(config: &NodeConfig) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f),
        _ => EnvFilter::try_new(&config.log.level),
    }
    .context("log.level")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
    }
}
