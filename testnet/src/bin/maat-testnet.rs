//! `maat-testnet`: a local Maat network of real `maatd` processes on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use maat_testnet::chaos::{self, ChaosOptions};
use maat_testnet::compose::{self, ComposeSpec};
use maat_testnet::load::{self, LoadKind, LoadOptions};
use maat_testnet::net::{self, InitSpec, ProcState, Testnet};
use maat_testnet::{TestnetError, demo};

#[derive(Parser)]
#[command(
    name = "maat-testnet",
    version,
    about = "A local Maat network of real maatd processes on 127.0.0.1",
    long_about = "A local Maat network of real maatd processes on 127.0.0.1.\n\n\
                  Start here: `maat-testnet demo` creates a 4-validator network in ./.maat-testnet, \
                  finalizes a sample certificate, verifies its proof offline and prints the receipt. \
                  The nodes keep running (`maat-testnet status`, `maat-testnet down`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DirArg {
    /// Testnet directory.
    #[arg(long, env = "MAAT_TESTNET_DIR", default_value = ".maat-testnet")]
    dir: PathBuf,
}

#[derive(Args, Clone)]
struct MaatdArg {
    /// The maatd binary (default: $MAATD, next to this program, then PATH).
    #[arg(long)]
    maatd: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct InitArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Number of full nodes (non-voting; they follow, verify and serve the chain).
    #[arg(long, default_value_t = 0)]
    full_nodes: usize,
    /// First port: p2p base+i, JSON-RPC base+100+i, gRPC base+200+i, metrics base+300+i
    /// [default: 26600; `demo` moves to the next free range when it is taken].
    #[arg(long)]
    base_port: Option<u16>,
    /// Chain id.
    #[arg(long, default_value = "maat-testnet-1")]
    chain_id: String,
    /// 64 hex chars; every validator and admin key derives from it (default: random).
    #[arg(long)]
    seed: Option<String>,
    /// Empty-block interval in ms (genesis parameter).
    #[arg(long, default_value_t = 500)]
    empty_block_interval_ms: u64,
    /// Initial round timeout in ms (genesis parameter).
    #[arg(long, default_value_t = 1000)]
    round_timeout_ms: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Create a testnet directory: keys, genesis, one home per node, free loopback ports.
    Init {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        init: InitArgs,
        /// Succeed without changes if the directory already holds a testnet.
        #[arg(long)]
        if_missing: bool,
    },
    /// Start every node that is not running and wait until the network commits.
    Up {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        maatd: MaatdArg,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Each node: process state, height, round, peers, mempool, log size.
    Status {
        #[command(flatten)]
        dir: DirArg,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Stop every node (SIGTERM, SIGKILL after the grace period).
    Down {
        #[command(flatten)]
        dir: DirArg,
        /// Seconds to wait for a clean exit before SIGKILL.
        #[arg(long, default_value_t = 20)]
        grace: u64,
        /// Also delete the testnet directory.
        #[arg(long)]
        purge: bool,
    },
    /// Create (if needed) and start a 4-validator network, finalize a sample certificate,
    /// verify its proof offline and print the receipt.
    Demo {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        maatd: MaatdArg,
        #[command(flatten)]
        init: InitArgs,
        /// Stop the network at the end.
        #[arg(long)]
        stop: bool,
        /// Print the receipt as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Open-loop load: offered rate, finalized tx/s and submit→finalized latency percentiles.
    Load {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        load: LoadArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load plus faults (kill -9, SIGSTOP/SIGCONT, restarts of one validator at a time), then
    /// stop the network and check every node's chain and every acknowledged transaction.
    Chaos {
        #[command(flatten)]
        dir: DirArg,
        #[command(flatten)]
        maatd: MaatdArg,
        #[command(flatten)]
        load: LoadArgs,
        /// Seconds between a fault's recovery and the next fault.
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
        /// Shortest fault in seconds (kill and pause).
        #[arg(long, default_value_t = 2.0)]
        fault_min: f64,
        /// Longest fault in seconds.
        #[arg(long, default_value_t = 8.0)]
        fault_max: f64,
        /// Seed of the fault schedule (default: random).
        #[arg(long)]
        seed: Option<u64>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The benchmark: for each validator count and offered rate, a fresh testnet in a temp
    /// directory and one `load` run; a markdown table row per run (docs/BENCHMARKS.md).
    Curve {
        #[command(flatten)]
        maatd: MaatdArg,
        /// Validator counts.
        #[arg(long, value_delimiter = ',', default_value = "4")]
        validators: Vec<usize>,
        /// Offered rates (tx/s).
        #[arg(long, value_delimiter = ',', default_value = "250,500,1000,1500")]
        rates: Vec<f64>,
        /// Window per run.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        duration: Duration,
        /// certificate or audit.
        #[arg(long, default_value = "certificate")]
        kind: LoadKind,
        /// First port tried for the temporary testnets.
        #[arg(long, default_value_t = 20000)]
        base_port: u16,
    },
    /// Write the Docker Compose file for N validators and M full nodes.
    Compose {
        /// Validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// Full nodes.
        #[arg(long, default_value_t = 1)]
        full_nodes: usize,
        /// The build context relative to the compose file (the repository root).
        #[arg(long, default_value = "..")]
        context: String,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Clone)]
struct LoadArgs {
    /// Offered transactions per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// How long to offer them: seconds, or with a unit (90s, 10m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// certificate (≈5 KB maat-v1 certificates) or audit (small agent audit records).
    #[arg(long, default_value = "certificate")]
    kind: LoadKind,
    /// Submitters (default: rate / 10, between 16 and 1,000).
    #[arg(long)]
    submitters: Option<usize>,
    /// After the window, how long to wait for acknowledged transactions to finalize.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    drain: Duration,
    /// Submit only to these nodes (comma-separated names; default: all).
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30, 30s, 10m, 500ms)"))?;
    let secs = match unit {
        "ms" => v / 1e3,
        "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("`{s}`: unit must be ms, s, m or h")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is not a usable duration"))
}

fn seed_of(hexs: Option<&str>) -> anyhow::Result<[u8; 32]> {
    match hexs {
        Some(h) => {
            let v = hex::decode(h).context("--seed is not hex")?;
            <[u8; 32]>::try_from(v.as_slice())
                .map_err(|_| anyhow::anyhow!("--seed must be 32 bytes (64 hex chars)"))
        }
        None => Ok(rand::random()),
    }
}

fn init_spec(a: &InitArgs) -> anyhow::Result<InitSpec> {
    let mut spec = InitSpec::new(a.validators, seed_of(a.seed.as_deref())?);
    spec.full_nodes = a.full_nodes;
    spec.base_port = a.base_port.unwrap_or(spec.base_port);
    spec.chain_id = a.chain_id.clone();
    spec.params.empty_block_interval_ms = a.empty_block_interval_ms;
    spec.params.timeouts.initial_round_ms = a.round_timeout_ms;
    Ok(spec)
}

fn print_init(t: &Testnet) {
    println!(
        "testnet {} in {} ({} nodes)",
        t.manifest.chain_id,
        t.dir.display(),
        t.manifest.nodes.len()
    );
    for n in &t.manifest.nodes {
        println!(
            "  {:<6} {:<9} rpc {}  grpc {}  p2p {}",
            n.name,
            n.role.as_str(),
            n.rpc_url(),
            n.grpc_url(),
            n.p2p_port
        );
    }
}

fn main() -> ExitCode {
    // The launcher's own diagnostics (chaos faults at `info`); the nodes log into their homes.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("maat_testnet=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("maat-testnet: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("maat-testnet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn maatd(arg: &MaatdArg) -> anyhow::Result<PathBuf> {
    Ok(net::locate_maatd(arg.maatd.as_deref())?)
}

/// Init with the given ports, or the next free port range when the default range is taken.
fn init_free(dir: &Path, spec: &InitSpec, explicit_port: bool) -> Result<Testnet, TestnetError> {
    let mut spec = spec.clone();
    let mut tries = 0;
    loop {
        match net::init(dir, &spec) {
            Err(TestnetError::Config(msg))
                if msg.contains("in use") && !explicit_port && tries < 20 =>
            {
                tries += 1;
                spec.base_port = spec.base_port.saturating_add(400);
            }
            other => return other,
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init {
            dir,
            init,
            if_missing,
        } => {
            if if_missing && dir.dir.join(net::MANIFEST).exists() {
                let t = Testnet::open(&dir.dir)?;
                print_init(&t);
                return Ok(ExitCode::SUCCESS);
            }
            let t = net::init(&dir.dir, &init_spec(&init)?)?;
            print_init(&t);
            println!("start it: maat-testnet up --dir {}", dir.dir.display());
        }
        Command::Up {
            dir,
            maatd: m,
            timeout,
        } => {
            let t = Testnet::open(&dir.dir)?;
            let bin = maatd(&m)?;
            t.up(&bin, Duration::from_secs(timeout)).await?;
            print_status(&t, false).await;
        }
        Command::Status { dir, json } => {
            let t = Testnet::open(&dir.dir)?;
            print_status(&t, json).await;
        }
        Command::Down { dir, grace, purge } => {
            let t = Testnet::open(&dir.dir)?;
            for (name, killed) in t.down(Duration::from_secs(grace))? {
                println!(
                    "{name}: {}",
                    if killed {
                        "killed (no clean exit within the grace period)"
                    } else {
                        "stopped"
                    }
                );
            }
            if purge {
                std::fs::remove_dir_all(&t.dir)
                    .with_context(|| format!("removing {}", t.dir.display()))?;
                println!("removed {}", t.dir.display());
            }
        }
        Command::Demo {
            dir,
            maatd: m,
            init,
            stop,
            json,
        } => {
            let bin = maatd(&m)?;
            let t = if dir.dir.join(net::MANIFEST).exists() {
                eprintln!(
                    "using the existing testnet in {} (init options are ignored)",
                    dir.dir.display()
                );
                Testnet::open(&dir.dir)?
            } else {
                let spec = init_spec(&init)?;
                let t = init_free(&dir.dir, &spec, init.base_port.is_some())?;
                eprintln!(
                    "created a {}-validator testnet in {}",
                    init.validators,
                    dir.dir.display()
                );
                t
            };
            eprintln!("starting the nodes and waiting for the first commits ...");
            t.up(&bin, Duration::from_secs(180)).await?;
            let result = demo::run(&t, rand::random(), |line| eprintln!("- {line}")).await;
            if stop {
                t.down(Duration::from_secs(20))?;
                eprintln!(
                    "network stopped (`maat-testnet up --dir {}` restarts it)",
                    t.dir.display()
                );
            }
            let receipt = result?;
            if json {
                println!("{}", serde_json::to_string_pretty(&receipt)?);
            } else {
                println!("{}", receipt.render());
            }
            if !stop {
                eprintln!(
                    "the network keeps running: maat-testnet status --dir {0} | maat-testnet down --dir {0}",
                    t.dir.display()
                );
            }
        }
        Command::Load { dir, load: l, json } => {
            let t = Testnet::open(&dir.dir)?;
            let opts = load_options(&l);
            let entry =
                t.validators_running().into_iter().next().ok_or_else(|| {
                    anyhow::anyhow!("no validator is running (`maat-testnet up`)")
                })?;
            eprintln!(
                "registering {} submitters and building {} transactions ...",
                opts.submitters.map_or("the".into(), |k| k.to_string()),
                (opts.rate * opts.duration.as_secs_f64()).round()
            );
            let prepared = load::prepare(&t, &entry, &opts).await?;
            eprintln!("offering {} tx/s for {:?} ...", opts.rate, opts.duration);
            let report = load::run(&t, prepared, &opts).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{}", report.summary());
            }
        }
        Command::Chaos {
            dir,
            maatd: m,
            load: l,
            interval,
            fault_min,
            fault_max,
            seed,
            json,
        } => {
            let t = Testnet::open(&dir.dir)?;
            anyhow::ensure!(
                fault_min >= 0.0 && fault_max >= fault_min,
                "--fault-min must be ≥ 0 and ≤ --fault-max"
            );
            let secs = |name: &str, v: f64| {
                Duration::try_from_secs_f64(v)
                    .map_err(|_| anyhow::anyhow!("--{name} {v}: not a usable number of seconds"))
            };
            let opts = ChaosOptions {
                load: load_options(&l),
                interval: secs("interval", interval)?,
                fault_min: secs("fault-min", fault_min)?,
                fault_max: secs("fault-max", fault_max)?,
                seed: seed.unwrap_or_else(rand::random),
                maatd: maatd(&m)?,
            };
            eprintln!(
                "chaos for {:?} at {} tx/s (schedule seed {}); the network is stopped at the end for the check",
                opts.load.duration, opts.load.rate, opts.seed
            );
            let report = chaos::run(&t, &opts).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("{}", report.summary());
                for f in &report.faults {
                    println!(
                        "  t={:>6.1}s {:<6} {:<8} out {:>5.1} s, caught up {}",
                        f.at_s,
                        f.node,
                        format!("{:?}", f.kind).to_lowercase(),
                        f.out_s,
                        f.caught_up_s
                            .map_or_else(|| "not within 120 s".into(), |s| format!("{s:.1} s"))
                    );
                }
            }
            if !report.passed() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Curve {
            maatd: m,
            validators,
            rates,
            duration,
            kind,
            base_port,
        } => {
            let bin = maatd(&m)?;
            curve(&bin, &validators, &rates, duration, kind, base_port).await?;
        }
        Command::Compose {
            validators,
            full_nodes,
            context,
            out,
        } => {
            let spec = ComposeSpec {
                validators,
                full_nodes,
                context,
                ..ComposeSpec::default()
            };
            let text = compose::render(&spec)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
                    println!("wrote {}", p.display());
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Stops a temporary testnet's nodes when the run ends, also on an error.
struct Running(Testnet);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.down(Duration::from_secs(10));
    }
}

async fn curve(
    bin: &Path,
    validators: &[usize],
    rates: &[f64],
    duration: Duration,
    kind: LoadKind,
    base_port: u16,
) -> anyhow::Result<()> {
    println!(
        "| validators | kind | offered tx/s | finalized tx/s (sustained) | p50 ms | p90 ms | p99 ms | max ms | acknowledged | finalized | refused | blocks | backlog drain s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in validators {
        for &rate in rates {
            let dir = tempfile::Builder::new()
                .prefix("maat-curve-")
                .tempdir()
                .context("temp dir")?;
            let mut spec = InitSpec::new(n, rand::random());
            spec.base_port = base_port;
            let net = Running(init_free(dir.path(), &spec, false)?);
            net.0.up(bin, Duration::from_secs(180)).await?;
            let mut opts = LoadOptions::new(rate, duration, kind, rand::random());
            opts.drain = Duration::from_secs(30);
            let entry = net
                .0
                .validators_running()
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("no validator runs"))?;
            let prepared = load::prepare(&net.0, &entry, &opts).await?;
            let r = load::run(&net.0, prepared, &opts).await?;
            eprintln!("{n} validators, {rate} tx/s offered:\n{}", r.summary());
            println!(
                "| {n} | {} | {rate:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {} | {} | {:.1} |",
                match r.kind {
                    LoadKind::Certificate => "certificate",
                    LoadKind::Audit => "audit",
                },
                r.sustained_finalized_per_s,
                r.latency.p50_ms,
                r.latency.p90_ms,
                r.latency.p99_ms,
                r.latency.max_ms,
                r.acknowledged,
                r.finalized,
                r.refused.values().sum::<u64>(),
                r.blocks,
                r.backlog_drain_s
            );
        }
    }
    Ok(())
}

fn load_options(l: &LoadArgs) -> LoadOptions {
    let mut o = LoadOptions::new(l.rate, l.duration, l.kind, rand::random());
    o.submitters = l.submitters;
    o.drain = l.drain;
    o.targets = l.target.clone();
    o
}

async fn print_status(t: &Testnet, json: bool) {
    let rows = t.status().await;
    if json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|(n, state, s)| {
                serde_json::json!({
                    "name": n.name,
                    "role": n.role.as_str(),
                    "state": match state {
                        ProcState::Stopped => "stopped",
                        ProcState::Running(_) => "running",
                        ProcState::Paused(_) => "paused",
                    },
                    "pid": state.pid(),
                    "rpc": n.rpc_url(),
                    "grpc": n.grpc_url(),
                    "status": s,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return;
    }
    println!(
        "{:<6} {:<9} {:<22} {:>7} {:>7} {:>5} {:>7} {:>8}  rpc",
        "node", "role", "process", "height", "round", "peers", "mempool", "log"
    );
    for (n, state, s) in rows {
        let cols = match &s {
            Some(s) => format!(
                "{:>7} {:>7} {:>5} {:>7} {:>8}",
                s.height, s.round, s.peers, s.mempool_txs, s.log_size
            ),
            None => format!("{:>7} {:>7} {:>5} {:>7} {:>8}", "-", "-", "-", "-", "-"),
        };
        println!(
            "{:<6} {:<9} {:<22} {cols}  {}",
            n.name,
            n.role.as_str(),
            state.to_string(),
            n.rpc_url()
        );
    }
}
