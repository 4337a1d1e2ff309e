//! The PROOF layer on a real 4-validator testnet (issue 8's "done when"): an agent's
//! 1,000-record audit chain exported and verified offline (plain and redacted, and tampered
//! copies refused), the node's own chain check, and an attested artifact set verified offline
//! from its receipt. Everything a user would run goes through the `maat` CLI.

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Dir, json, maat, ok};
use futures::StreamExt as _;
use maat_crypto::keyfile::write_key_file;
use maat_ledger::Genesis;
use maat_proto::TxId;
use maat_rpc::{EventFilter, SubscriptionKind};
use maat_sdk::client::Client;
use maat_sdk::workload::{Workload, tx_id};
use maat_testnet::net::Testnet;

const RECORDS: u64 = 1000;
const WAIT: Duration = Duration::from_secs(120);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Submits `txs` (one submitter's, in nonce order) in chunks and waits for each chunk's last.
async fn submit_all(client: &Client, txs: &[Vec<u8>]) {
    for chunk in txs.chunks(200) {
        let mut last = None;
        for tx in chunk {
            last = Some(client.submit_tx(tx).await.expect("admitted"));
        }
        if let Some(id) = last {
            client.wait_for_finality(id, WAIT).await.expect("final");
        }
    }
}

/// Waits until the latest final checkpoint covers log index `index`.
async fn wait_checkpoint_covering(client: &Client, ws_url: &str, index: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let ws = Client::connect(ws_url).await.expect("WebSocket client");
    let mut blocks = ws
        .subscribe(SubscriptionKind::NewBlocks, EventFilter::default())
        .await
        .expect("block subscription");
    loop {
        if let Ok(Some(c)) = client.checkpoint(None).await {
            if c.tree_size > index {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint covers {index}"
        );
        // Checkpoints are cosigned after commits: look again after the next block (or 2 s).
        let _ = tokio::time::timeout(Duration::from_secs(2), blocks.next()).await;
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_1000_record_audit_chain_and_an_attested_artifact_set_verify_offline() {
    let dir = Dir::new();
    dir.init(&["--validators", "4", "--empty-block-interval-ms", "250"]);
    ok(&["up", "--dir", dir.path()]);
    let root = dir.tmp.path();
    let net = Testnet::open(root).expect("testnet");
    let genesis_path = root.join("genesis.json");
    let genesis_arg = genesis_path.to_str().unwrap().to_owned();
    let genesis = Genesis::load(&genesis_path).expect("genesis");
    let node = net.manifest.nodes[0].clone();
    let url = node.rpc_url();

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let workload = rt.block_on(async {
        let client = net.client(&node).expect("client");
        let admin = genesis.admins()[0].id.clone();
        let last = client.identity(&admin).await.unwrap().unwrap()["last_nonce"]
            .as_u64()
            .unwrap();
        let w = Workload::new(genesis.chain_id(), net.admin_key().unwrap(), [8; 32])
            .with_submitters(1)
            .and_then(|w| w.with_agents(1))
            .and_then(|w| w.with_admin(admin, last + 1))
            .expect("workload");
        // The agent's registration takes the admin nonces after the workload's setup.
        submit_all(&client, &[w.setup_txs(), w.audit_setup_txs()].concat()).await;
        let txs = w.audit_record_txs(0..RECORDS, now_ms());
        submit_all(&client, &txs).await;
        let tail = tx_id(txs.last().unwrap()).unwrap();
        assert!(client.tx_status(tail).await.unwrap().is_final());
        w
    });
    let agent = workload.agent_id(0).unwrap().to_owned();
    let key_path = root.join("agent.json");
    write_key_file(&key_path, workload.agent_key(0).unwrap(), Some(&agent)).expect("key file");
    let key_arg = key_path.to_str().unwrap().to_owned();

    // A canonical JSON number no 64-bit float holds: the chain accepts it, so queries and
    // exports must carry it too.
    let big_data = format!(
        r#"{{"count":{},"resolution":"approved by on-call"}}"#,
        "7".repeat(400)
    );
    // Record 1001 through the CLI, with data fields the workload's records do not have: a
    // redacted export needs an unredacted last record.
    let (code, out) = maat(&[
        "audit",
        "log",
        "--key",
        &key_arg,
        "--session",
        "closing",
        "--event",
        "escalation_resolved",
        "--risk",
        "medium",
        "--data",
        &big_data,
        "--node",
        &url,
    ]);
    assert_eq!(code, 0, "{out}");
    let logged = json(&out);
    assert_eq!(logged["sequence"], RECORDS + 1);

    rt.block_on(async {
        let client = net.client(&node).expect("client");
        wait_checkpoint_covering(
            &client,
            &node.ws_url(),
            logged["log_index"].as_u64().unwrap(),
        )
        .await;
        let check = client
            .verify_audit_chain(&agent, None)
            .await
            .expect("verify call");
        assert!(check.valid, "{:?}", check.problems);
        assert_eq!(check.records_checked, RECORDS + 1);
        assert_eq!(
            hex::encode(check.head_record_hash),
            logged["record_hash"].as_str().unwrap()
        );
        let last = client
            .audit_chain(&agent, RECORDS + 1, None)
            .await
            .expect("last page");
        assert_eq!(last.records.len(), 1);
        assert_eq!(
            last.records[0].data_json, big_data,
            "the data exactly as signed"
        );
        assert!(
            last.records[0].data.is_null(),
            "no float holds it: data_json carries it"
        );
        let page = client
            .audit_chain(&agent, 500, Some(10))
            .await
            .expect("chain page");
        assert_eq!(page.length, RECORDS + 1);
        assert_eq!(
            page.records.iter().map(|r| r.sequence).collect::<Vec<_>>(),
            (500..510).collect::<Vec<_>>()
        );
        assert_eq!(page.next, Some(510));
        let one = client
            .audit_record(TxId(page.records[0].tx_id))
            .await
            .expect("record")
            .expect("committed");
        one.finality_proof
            .expect("with its finality proof")
            .verify(&genesis)
            .expect("proof verifies offline");
    });

    // Plain export: every record shown, verified offline against the genesis file only.
    let full = root.join("audit-full.json");
    let full_arg = full.to_str().unwrap().to_owned();
    let (code, _) = maat(&[
        "audit",
        "export",
        "--agent",
        &agent,
        "--genesis",
        &genesis_arg,
        "--node",
        &url,
        "--out",
        &full_arg,
    ]);
    assert_eq!(code, 0);
    let (code, out) = maat(&[
        "audit",
        "verify",
        &full_arg,
        "--genesis",
        &genesis_arg,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let report = &json(&out)["report"];
    assert_eq!(report["records"], RECORDS + 1);
    assert_eq!(report["from_genesis"], true);
    assert_eq!(report["head_record_hash"], logged["record_hash"]);

    // Redacted export: the workload's `reason` and `request` fields become commitments.
    let red = root.join("audit-redacted.json");
    let red_arg = red.to_str().unwrap().to_owned();
    let (code, _) = maat(&[
        "audit",
        "export",
        "--agent",
        &agent,
        "--genesis",
        &genesis_arg,
        "--node",
        &url,
        "--redact",
        "reason",
        "--redact",
        "request",
        "--out",
        &red_arg,
    ]);
    assert_eq!(code, 0);
    let red_text = read(&red);
    assert!(
        !red_text.contains("policy satisfied"),
        "a redacted value leaked"
    );
    let (code, out) = maat(&[
        "audit",
        "verify",
        &red_arg,
        "--genesis",
        &genesis_arg,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["report"]["redacted_records"], RECORDS);

    // Tampered copies are refused: a changed transaction, a changed redacted commitment.
    let mut bundle = json(&read(&full));
    let tx = bundle["records"][300]["tx"].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        &tx[..tx.len() - 2],
        if tx.ends_with("00") { "01" } else { "00" }
    );
    bundle["records"][300]["tx"] = flipped.into();
    let bad = root.join("audit-bad.json");
    std::fs::write(&bad, bundle.to_string()).unwrap();
    let (code, out) = maat(&[
        "audit",
        "verify",
        bad.to_str().unwrap(),
        "--genesis",
        &genesis_arg,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("record 301"), "{out}");
    let mut bundle = json(&red_text);
    let fields = bundle["records"][10]["redacted"]["fields"]
        .as_array_mut()
        .unwrap();
    let redacted = fields
        .iter_mut()
        .find(|f| f.get("commitment").is_some())
        .unwrap();
    redacted["commitment"] = "00".repeat(32).into();
    std::fs::write(&bad, bundle.to_string()).unwrap();
    let (code, out) = maat(&[
        "audit",
        "verify",
        bad.to_str().unwrap(),
        "--genesis",
        &genesis_arg,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 12"),
        "the successor's link exposes it: {out}"
    );

    // The agent-session flow, as the README shows it: a new agent key registered by the
    // admin, two intents, an attested output directory, an offline-verified receipt.
    let attest_dir = root.join("session");
    std::fs::create_dir_all(attest_dir.join("out/reports")).unwrap();
    let (agent2_key, chain_file, spec, out, receipt) = (
        attest_dir.join("agent.json"),
        attest_dir.join("intents.jsonl"),
        attest_dir.join("task.toml"),
        attest_dir.join("out"),
        attest_dir.join("receipt.json"),
    );
    let p = |path: &Path| path.to_str().unwrap().to_owned();
    std::fs::write(&spec, "task = \"refactor the parser\"\n").unwrap();
    std::fs::write(out.join("parser.rs"), "fn parse() {}\n").unwrap();
    std::fs::write(out.join("reports/tests.txt"), "12 passed\n").unwrap();
    let admin_key = p(&root.join("admin.json"));
    let steps: [Vec<String>; 5] = [
        vec![
            "keygen".into(),
            "--id".into(),
            "agent-1".into(),
            "--out".into(),
            p(&agent2_key),
        ],
        vec![
            "identity".into(),
            "register".into(),
            p(&agent2_key),
            "--key".into(),
            admin_key,
            "--node".into(),
            url.clone(),
        ],
        vec![
            "attest".into(),
            "intent".into(),
            "Refactor the parser and add tests".into(),
            "--chain".into(),
            p(&chain_file),
        ],
        vec![
            "attest".into(),
            "intent".into(),
            "Also report the test results".into(),
            "--chain".into(),
            p(&chain_file),
        ],
        vec![
            "attest".into(),
            "run".into(),
            "--spec".into(),
            p(&spec),
            "--artifacts".into(),
            p(&out),
            "--key".into(),
            p(&agent2_key),
            "--chain".into(),
            p(&chain_file),
            "--node".into(),
            url.clone(),
            "--out".into(),
            p(&receipt),
            "--json".into(),
        ],
    ];
    let mut last = String::new();
    for step in &steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let (code, stdout) = maat(&args);
        assert_eq!(code, 0, "maat {args:?}: {stdout}");
        last = stdout;
    }
    let attested = json(&last);
    let log_index = attested["log_index"].as_u64().unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec!["attest", "verify", receipt.to_str().unwrap(), "--artifacts"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(&["--genesis", &genesis_arg]);
        args.extend_from_slice(extra);
        maat(&args)
    };
    let (code, stdout) = verify(&["--chain", chain_file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stdout}");

    // The chain indexed both files under their digests, over JSON-RPC and gRPC alike.
    let digest = format!(
        "sha256:{}",
        hex::encode(maat_crypto::sha256(b"12 passed\n"))
    );
    rt.block_on(async {
        for client in [
            net.client(&node).expect("client"),
            Client::connect(&node.grpc_url())
                .await
                .expect("gRPC client"),
        ] {
            let page = client
                .attestations_by_subject(&digest, None, None)
                .await
                .expect("by subject");
            assert_eq!(page.attestations.len(), 1, "{page:?}");
            assert_eq!(page.attestations[0].log_index, log_index);
            assert_eq!(page.attestations[0].signers, vec!["agent-1".to_owned()]);
            let at = client
                .attestation(log_index)
                .await
                .expect("by index")
                .expect("there");
            assert_eq!(at.subjects.len(), 2);
        }
    });

    // A changed output file no longer verifies.
    std::fs::write(out.join("reports/tests.txt"), "11 passed, 1 failed\n").unwrap();
    let (code, stdout) = verify(&[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("reports/tests.txt"), "{stdout}");
}
