//! `maat cert build` and `maat cert check`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand, ValueEnum};
use maat_certificate::json::{self, Object, ParseMode, Value};
use maat_certificate::maat_v1::{self, CertificateBuilder, CheckContext, EvidenceItem, Request};
use maat_certificate::maatproof_v1::{self, CheckerConfig, Mode, QuorumRule};
use maat_certificate::{Report, codes};
use maat_crypto::keyfile::{LoadedKey, load_key_file};
use maat_sdk::registry_file::load_registry;
use maat_sdk::spec::DeploySpec;

use crate::Outcome;

#[derive(Subcommand)]
pub enum CertCommand {
    /// Sign the evidence of a deploy description and print the certificate (canonical JSON).
    Build(BuildArgs),
    /// Check a certificate; exit 0 accepted, 1 rejected, 2 usage or configuration error.
    Check(CheckArgs),
    /// Sign a certificate into a transaction and submit it to a node; `--wait` for finality
    /// and a receipt. Exit 0 submitted/finalized, 1 rejected, 2 error (also a timeout).
    Submit(crate::node::SubmitArgs),
}

#[derive(Args)]
pub struct BuildArgs {
    /// The deploy description (TOML; format in sdk/src/spec.rs).
    #[arg(long)]
    spec: PathBuf,
    /// Key file that signs every evidence item that names no `key` of its own.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Signer id for `--key` (default: the key file's `id`).
    #[arg(long)]
    signer: Option<String>,
    /// Timestamp (POSIX seconds) for evidence that gives none (default: now).
    #[arg(long)]
    timestamp: Option<f64>,
    /// Write the certificate here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleSet {
    /// The network's rule set: public-key evidence, registered policies, real logic.
    #[value(name = "maat-v1")]
    MaatV1,
    /// Byte- and code-compatible with the MaatProof reference (HMAC evidence).
    #[value(name = "maatproof-v1")]
    MaatproofV1,
}

#[derive(Args)]
pub struct CheckArgs {
    /// The certificate JSON file (`-` for standard input).
    #[arg(required_unless_present = "vector", conflicts_with = "vector")]
    cert: Option<PathBuf>,
    /// Replay a MaatProof test vector under maatproof-v1 with the settings it carries.
    #[arg(long, value_name = "FILE")]
    vector: Option<PathBuf>,
    /// Which rule set to check under.
    #[arg(long, value_enum, default_value = "maat-v1")]
    rule_set: RuleSet,
    /// Print the report as JSON (CERTIFICATE.md section 4) instead of a table.
    #[arg(long)]
    json: bool,

    /// maatproof-v1: the shared evidence HMAC key, hex.
    #[arg(long, value_name = "HEX", help_heading = "maatproof-v1")]
    hmac_key: Option<String>,
    /// maatproof-v1: a validator HMAC key, `ID=HEX` (repeatable).
    #[arg(long, value_name = "ID=HEX", help_heading = "maatproof-v1")]
    validator_key: Vec<String>,
    /// maatproof-v1: `majority`, `supermajority[:T]` or `weighted_threshold:T`.
    #[arg(long, default_value = "majority", help_heading = "maatproof-v1")]
    quorum: String,
    /// maatproof-v1: verification time in POSIX seconds, or `none` to skip freshness
    /// (default: the current time).
    #[arg(long, value_name = "SECONDS|none", help_heading = "maatproof-v1")]
    now: Option<String>,
    /// maatproof-v1: `accept` (all four checks) or `accept_without_quorum`.
    #[arg(long, default_value = "accept", help_heading = "maatproof-v1")]
    mode: String,

    /// maat-v1: registry file with identities and registered policies (sdk/src/registry_file.rs).
    #[arg(long, value_name = "FILE", help_heading = "maat-v1")]
    registry: Option<PathBuf>,
    /// maat-v1: the block time to check at, POSIX seconds (default: the current time).
    #[arg(long, value_name = "SECONDS", help_heading = "maat-v1")]
    block_time: Option<f64>,
    /// maat-v1: how far evidence may be dated after the block time.
    #[arg(long, value_name = "SECONDS", default_value_t = CheckContext::DEFAULT_MAX_CLOCK_SKEW, help_heading = "maat-v1")]
    max_clock_skew: f64,
}

pub fn run(cmd: CertCommand) -> anyhow::Result<Outcome> {
    match cmd {
        CertCommand::Build(args) => build(args),
        CertCommand::Check(args) => check(args),
        CertCommand::Submit(args) => crate::block_on(crate::node::cert_submit(args)),
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn load_signing_key(path: &Path) -> anyhow::Result<LoadedKey> {
    load_key_file(path).with_context(|| format!("loading key {}", path.display()))
}

fn build(args: BuildArgs) -> anyhow::Result<Outcome> {
    let spec = DeploySpec::load(&args.spec)?;
    let default_key = args.key.as_deref().map(load_signing_key).transpose()?;
    let r = spec.request;
    let request = Request {
        deployment_id: r.deployment_id,
        service: r.service,
        environment: r.environment,
        commit_sha: r.commit_sha,
        artifact_hash: r.artifact_hash,
        requested_by: r.requested_by,
    };
    let mut builder =
        CertificateBuilder::from_policy_json(request, &json::canon_bytes(&spec.policy))
            .context("the spec's policy")?;
    let build_time = args.timestamp.unwrap_or_else(now_seconds);
    for item in spec.evidence {
        let own_key = item.key.as_deref().map(load_signing_key).transpose()?;
        let (key, signer) = match (&own_key, &default_key) {
            (Some(k), _) => (k, k.id.clone()),
            (None, Some(k)) => (k, args.signer.clone().or_else(|| k.id.clone())),
            (None, None) => bail!("evidence `{}` names no key and no --key was given", item.id),
        };
        let signer = signer.ok_or_else(|| {
            anyhow!(
                "evidence `{}`: the key file has no id; pass --signer or use `maat keygen --id`",
                item.id
            )
        })?;
        let Value::Object(value) = item.value else {
            bail!("evidence `{}`: value must be a table/object", item.id);
        };
        let ev = EvidenceItem::new(
            item.id,
            item.evidence_type,
            value,
            item.source,
            item.timestamp.unwrap_or(build_time),
        )
        .depends_on(item.dependencies);
        builder.add_evidence(ev, &signer, &key.key_pair)?;
    }
    let mut bytes = builder.build();
    bytes.push(b'\n');
    match args.out {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout()
            .write_all(&bytes)
            .context("writing standard output")?,
    }
    Ok(Outcome::Success)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    if let Some(vector) = &args.vector {
        return check_vector(vector, args.json);
    }
    let Some(cert_path) = &args.cert else {
        bail!("give a certificate file or --vector")
    };
    let bytes = read_input(cert_path)?;
    let report = match args.rule_set {
        RuleSet::MaatV1 => {
            let Some(registry_path) = &args.registry else {
                bail!(
                    "--rule-set maat-v1 needs --registry FILE (identities and registered policies)"
                );
            };
            let registry = load_registry(registry_path)?;
            let block_time = args.block_time.unwrap_or_else(now_seconds);
            if !block_time.is_finite()
                || !args.max_clock_skew.is_finite()
                || args.max_clock_skew < 0.0
            {
                bail!("--block-time and --max-clock-skew must be finite, the skew not negative");
            }
            let ctx = CheckContext {
                block_time,
                max_clock_skew: args.max_clock_skew,
            };
            maat_v1::check(&bytes, &registry, &ctx)
        }
        RuleSet::MaatproofV1 => {
            let config = maatproof_config(&args)?;
            let checker = maatproof_v1::Checker::new(config).context("checker configuration")?;
            checker.check(&bytes)
        }
    };
    print_report(&report, args.rule_set, args.json, None);
    Ok(if report.accepted {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn maatproof_config(args: &CheckArgs) -> anyhow::Result<CheckerConfig> {
    let hex_key = |s: &str, what: &str| hex::decode(s).with_context(|| format!("{what}: not hex"));
    let Some(hmac) = &args.hmac_key else {
        bail!("--rule-set maatproof-v1 needs --hmac-key HEX")
    };
    let mut config = CheckerConfig::new(hex_key(hmac, "--hmac-key")?);
    for vk in &args.validator_key {
        let (id, key) = vk
            .split_once('=')
            .ok_or_else(|| anyhow!("--validator-key wants ID=HEX, got `{vk}`"))?;
        config
            .validator_keys
            .insert(id.to_string(), hex_key(key, "--validator-key")?);
    }
    config.quorum = parse_quorum(&args.quorum)?;
    config.now = match args.now.as_deref() {
        None => Some(now_seconds()),
        Some("none") => None,
        Some(s) => Some(
            s.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| anyhow!("--now: `{s}` is not a number of seconds or `none`"))?,
        ),
    };
    config.mode = Mode::from_name(&args.mode)?;
    Ok(config)
}

/// `majority`, `supermajority`, `supermajority:0.75`, `weighted_threshold:2.5`.
fn parse_quorum(spec: &str) -> anyhow::Result<QuorumRule> {
    let (kind, threshold) = match spec.split_once(':') {
        Some((k, t)) => {
            let t = t
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| anyhow!("--quorum: bad threshold `{t}`"))?;
            (k, Some(t))
        }
        None => (spec, None),
    };
    Ok(QuorumRule::from_kind(kind, threshold)?)
}

/// Replays a `maatproof-pod-vector/1` certificate vector.
fn check_vector(path: &Path, as_json: bool) -> anyhow::Result<Outcome> {
    let bytes = read_input(path)?;
    let vector = json::parse(&bytes, ParseMode::Python)
        .with_context(|| format!("{}: not JSON", path.display()))?;
    let kind = vector.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "certificate" {
        bail!(
            "{}: a `{kind}` vector is not a certificate vector",
            path.display()
        );
    }
    let checker_json = vector
        .get("checker")
        .ok_or_else(|| anyhow!("vector has no `checker`"))?;
    let config = CheckerConfig::from_vector_json(checker_json)?;
    let checker = maatproof_v1::Checker::new(config).context("the vector's checker settings")?;
    let cert = vector
        .get("certificate")
        .ok_or_else(|| anyhow!("vector has no `certificate`"))?;
    let report = checker.check_value(cert);
    let expected = vector.get("expected").and_then(Value::as_object);
    print_report(&report, RuleSet::MaatproofV1, as_json, expected);
    Ok(if report.accepted {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn report_json(report: &Report, rule_set: RuleSet) -> serde_json::Value {
    let failures: Vec<_> = report
        .failures
        .iter()
        .map(|f| {
            serde_json::json!({
                "component": f.component.as_str(),
                "code": f.code,
                "message": f.message,
                "explanation": codes::explain(&f.code),
            })
        })
        .collect();
    serde_json::json!({
        "rule_set": match rule_set { RuleSet::MaatV1 => "maat-v1", RuleSet::MaatproofV1 => "maatproof-v1" },
        "accepted": report.accepted,
        "wf_policy": report.wf_policy,
        "auth_evidence": report.auth_evidence,
        "check_proof": report.check_proof,
        "quorum": report.quorum,
        "failures": failures,
        "certificate_digest": report.certificate_digest,
        "policy_root": report.policy_root,
        "evidence_root": report.evidence_root,
        "proof_root": report.proof_root,
    })
}

/// Does the report reproduce the vector's `expected` (verdict, booleans, codes, digests)?
fn matches_expected(report: &Report, expected: &Object) -> bool {
    let b = |k: &str| expected.get(k).and_then(Value::as_bool);
    let s = |k: &str| expected.get(k).and_then(Value::as_str);
    let codes: Option<Vec<(&str, &str)>> =
        expected
            .get("failures")
            .and_then(Value::as_array)
            .map(|fs| {
                fs.iter()
                    .map(|f| {
                        (
                            f.get("component").and_then(Value::as_str).unwrap_or(""),
                            f.get("code").and_then(Value::as_str).unwrap_or(""),
                        )
                    })
                    .collect()
            });
    let ours: Vec<(&str, &str)> = report
        .failures
        .iter()
        .map(|f| (f.component.as_str(), f.code.as_str()))
        .collect();
    b("accepted") == Some(report.accepted)
        && b("wf_policy") == Some(report.wf_policy)
        && b("auth_evidence") == Some(report.auth_evidence)
        && b("check_proof") == Some(report.check_proof)
        && b("quorum") == Some(report.quorum)
        && codes.as_deref() == Some(&ours[..])
        && s("certificate_digest") == Some(report.certificate_digest.as_str())
        && s("policy_root") == Some(report.policy_root.as_str())
        && s("evidence_root") == Some(report.evidence_root.as_str())
        && s("proof_root") == Some(report.proof_root.as_str())
}

fn print_report(report: &Report, rule_set: RuleSet, as_json: bool, expected: Option<&Object>) {
    if as_json {
        let text = serde_json::to_string_pretty(&report_json(report, rule_set)).unwrap_or_default();
        println!("{text}");
        return;
    }
    let ok = |b: bool| if b { "ok" } else { "FAILED" };
    let name = match rule_set {
        RuleSet::MaatV1 => "maat-v1",
        RuleSet::MaatproofV1 => "maatproof-v1",
    };
    println!(
        "{} under {name}",
        if report.accepted {
            "ACCEPTED"
        } else {
            "REJECTED"
        }
    );
    if !report.certificate_digest.is_empty() {
        println!("  certificate_digest  {}", report.certificate_digest);
    }
    println!(
        "  WF(P) {}   Auth(E) {}   CheckR {}   Quorum(A) {}",
        ok(report.wf_policy),
        ok(report.auth_evidence),
        ok(report.check_proof),
        ok(report.quorum)
    );
    for f in &report.failures {
        println!("  {:<10} {}", f.component.as_str(), f.code);
        let why = if f.message.is_empty() {
            codes::explain(&f.code)
        } else {
            f.message.as_str()
        };
        println!("  {:<10}   {why}", "");
    }
    if let Some(expected) = expected {
        let verdict = if expected.get("python_exception").is_some() {
            "the reference raises on this input; rejected here as CERTIFICATE.md 9b says"
        } else if matches_expected(report, expected) {
            "matches the vector's expected report"
        } else {
            "DIFFERS from the vector's expected report"
        };
        println!("  vector: {verdict}");
    }
}
