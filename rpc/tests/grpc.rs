//! The gRPC server over the fake `NodeApi` (`common`), called with the generated client: every
//! RPC, the error mapping (status code + `maat-error-code` / `maat-error-data` metadata), the
//! streaming subscription (filters, lagging, shutdown), the limits, health and reflection.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use futures::StreamExt as _;
use maat_rpc::grpc::node_api_client::NodeApiClient;
use maat_rpc::grpc::tonic::transport::Channel;
use maat_rpc::grpc::tonic::{Code, Status};
use maat_rpc::grpc::{self as pb, ERROR_CODE_KEY, ERROR_DATA_KEY, api_error_from_status};
use maat_rpc::{
    BlockInfo, BlockRef, CheckpointInfo, ConsistencyProof, DeploymentInfo, EventFilter,
    FinalityProof, GrpcServer, InclusionProof, NodeEvent, NodeStatus, RejectionData, RpcLimits,
    SubmitReceipt, SubscriptionKind, TxStatus, ValidatorInfo, codes,
};
use serde_json::Value;

async fn serve_with(
    node: Arc<FakeNode>,
    limits: RpcLimits,
) -> (GrpcServer, NodeApiClient<Channel>) {
    let server = GrpcServer::start(localhost(), node, limits)
        .await
        .expect("start");
    assert_ne!(server.local_addr().port(), 0);
    let client = client(&server).await;
    (server, client)
}

async fn client(server: &GrpcServer) -> NodeApiClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", server.local_addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    NodeApiClient::new(channel).max_decoding_message_size(64 << 20)
}

async fn serve() -> (GrpcServer, NodeApiClient<Channel>) {
    serve_with(FakeNode::new(16), RpcLimits::default()).await
}

/// The status's JSON-RPC code from the metadata (and checks the gRPC code agrees).
fn maat_code(status: &Status) -> i32 {
    let code: i32 = status
        .metadata()
        .get(ERROR_CODE_KEY)
        .unwrap_or_else(|| panic!("no {ERROR_CODE_KEY} in {status:?}"))
        .to_str()
        .expect("ascii")
        .parse()
        .expect("decimal");
    assert_eq!(status.code(), pb::grpc_code(code), "{status:?}");
    code
}

#[tokio::test]
async fn every_rpc_round_trips() {
    let (server, mut c) = serve().await;

    let r = c
        .health(pb::HealthRequest {})
        .await
        .expect("health")
        .into_inner();
    assert_eq!(r.status, "ok");

    let r = c
        .submit_tx(pb::SubmitTxRequest { tx: vec![7, 1, 2] })
        .await
        .expect("submit")
        .into_inner();
    assert_eq!(SubmitReceipt::try_from(r).expect("receipt").tx_id, [7; 32]);
    let r = c
        .submit_certificate(pb::SubmitTxRequest {
            tx: certificate_tx(),
        })
        .await
        .expect("certificate")
        .into_inner();
    assert_eq!(r.tx_id, vec![certificate_tx()[0]; 32]);

    let get_tx = async |c: &mut NodeApiClient<Channel>, id: [u8; 32]| -> TxStatus {
        let r = c
            .get_tx(pb::GetTxRequest { tx_id: id.to_vec() })
            .await
            .expect("get_tx")
            .into_inner();
        TxStatus::try_from(r).expect("status")
    };
    assert_eq!(get_tx(&mut c, [7; 32]).await, TxStatus::Pending);
    assert_eq!(
        get_tx(&mut c, FINALIZED).await,
        TxStatus::Finalized {
            height: 1,
            position: 0,
            log_index: 41
        }
    );
    assert_eq!(
        get_tx(&mut c, REJECTED).await,
        TxStatus::Rejected {
            code: "TX_NONCE_INVALID".into(),
            numeric_code: 1103,
            details: vec![]
        }
    );
    assert_eq!(get_tx(&mut c, [9; 32]).await, TxStatus::Unknown);

    let r = c
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(r.genesis_hash, vec![0xab; 32]);
    assert_eq!(NodeStatus::try_from(r).expect("status"), status());

    for at in [
        BlockRef::Height(1),
        BlockRef::Id(BLOCK1_ID),
        BlockRef::Latest,
    ] {
        let r = c
            .get_block(pb::GetBlockRequest::from(at))
            .await
            .expect("block");
        let block = Option::<BlockInfo>::try_from(r.into_inner()).expect("block");
        assert_eq!(block, Some(block1()), "{at}");
    }
    // No `at`: the latest.
    let r = c
        .get_block(pb::GetBlockRequest { at: None })
        .await
        .expect("block");
    assert_eq!(r.into_inner().block.expect("some").height, 1);
    let r = c
        .get_block(pb::GetBlockRequest::from(BlockRef::Height(2)))
        .await
        .expect("block");
    assert_eq!(r.into_inner().block, None);
    let r = c
        .get_latest_block(pb::GetLatestBlockRequest {})
        .await
        .expect("latest");
    assert_eq!(
        Option::<BlockInfo>::try_from(r.into_inner()).expect("block"),
        Some(block1())
    );

    let r = c
        .get_finality_proof(pb::GetFinalityProofRequest {
            tx_id: FINALIZED.to_vec(),
        })
        .await
        .expect("proof")
        .into_inner();
    let text = r.proof_json.clone().expect("a proof");
    assert_eq!(
        serde_json::from_str::<Value>(&text).expect("json"),
        serde_json::to_value(proof()).expect("json")
    );
    assert_eq!(
        Option::<FinalityProof>::try_from(r).expect("proof"),
        Some(proof())
    );
    let r = c
        .get_finality_proof(pb::GetFinalityProofRequest {
            tx_id: [9; 32].to_vec(),
        })
        .await
        .expect("proof");
    assert_eq!(r.into_inner().proof_json, None);

    for (size, want) in [(None, Some(42)), (Some(10), Some(10)), (Some(43), None)] {
        let r = c
            .get_checkpoint(pb::GetCheckpointRequest { tree_size: size })
            .await
            .expect("checkpoint");
        let cp = Option::<CheckpointInfo>::try_from(r.into_inner()).expect("cp");
        assert_eq!(cp, want.map(checkpoint), "{size:?}");
    }

    let r = c
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            old_size: 10,
            new_size: 42,
        })
        .await
        .expect("consistency");
    assert_eq!(
        ConsistencyProof::try_from(r.into_inner()).expect("proof"),
        ConsistencyProof {
            old_size: 10,
            new_size: 42,
            path: path(10, 42)
        }
    );
    let r = c
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf_index: 3,
            tree_size: 42,
        })
        .await
        .expect("inclusion");
    assert_eq!(
        InclusionProof::try_from(r.into_inner()).expect("proof"),
        InclusionProof {
            leaf_index: 3,
            tree_size: 42,
            path: path(3, 42)
        }
    );

    let r = c
        .get_deployment(pb::GetDeploymentRequest {
            deployment_id: "dep-1".into(),
        })
        .await
        .expect("deployment");
    assert_eq!(
        Option::<DeploymentInfo>::try_from(r.into_inner()).expect("dep"),
        Some(deployment())
    );
    let r = c
        .get_deployment(pb::GetDeploymentRequest {
            deployment_id: "nope".into(),
        })
        .await
        .expect("deployment");
    assert_eq!(r.into_inner().deployment, None);

    let r = c
        .get_identity(pb::GetIdentityRequest { id: "alice".into() })
        .await
        .expect("identity");
    assert_eq!(
        Option::<Value>::try_from(r.into_inner()).expect("json"),
        Some(identity())
    );
    let r = c
        .get_identity(pb::GetIdentityRequest { id: "bob".into() })
        .await
        .expect("identity");
    assert_eq!(r.into_inner().json, None);
    let r = c
        .get_policy(pb::GetPolicyRequest {
            service: "web".into(),
            environment: "prod".into(),
        })
        .await
        .expect("policy");
    assert_eq!(
        Option::<Value>::try_from(r.into_inner()).expect("json"),
        Some(policy())
    );

    let r = c
        .validators(pb::ValidatorsRequest {})
        .await
        .expect("validators");
    let got: Vec<ValidatorInfo> = r
        .into_inner()
        .validators
        .into_iter()
        .map(Into::into)
        .collect();
    assert_eq!(got, validators());

    server.stop().await;
}

#[tokio::test]
async fn errors_carry_codes_in_status_and_metadata() {
    let limits = RpcLimits {
        request_timeout: Duration::from_millis(200),
        ..RpcLimits::default()
    };
    let (server, mut c) = serve_with(FakeNode::new(1), limits).await;

    // A rejection: FAILED_PRECONDITION, -32001, the rejection data as JSON.
    let s = c
        .submit_tx(pb::SubmitTxRequest { tx: vec![0xff] })
        .await
        .expect_err("rejected");
    assert_eq!(s.code(), Code::FailedPrecondition);
    assert_eq!(maat_code(&s), codes::TX_REJECTED);
    let data: RejectionData = serde_json::from_str(
        s.metadata()
            .get(ERROR_DATA_KEY)
            .expect("data")
            .to_str()
            .expect("ascii"),
    )
    .expect("rejection data");
    assert_eq!(
        data,
        RejectionData {
            code: "CERTIFICATE_REJECTED".into(),
            numeric_code: 1401,
            codes: vec![
                "PREDICATE_FAILED:test_passed".into(),
                "PROOF_INVALID".into()
            ],
        }
    );
    let api = api_error_from_status(&s).expect("a maat error");
    assert_eq!(api.rejection(), Some(data));
    assert_eq!(api.message, "the certificate is rejected");

    // Bad arguments: INVALID_ARGUMENT, -32602.
    let s = c
        .get_tx(pb::GetTxRequest { tx_id: vec![1; 31] })
        .await
        .expect_err("short id");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    assert!(s.message().contains("tx_id"), "{}", s.message());
    let s = c
        .get_block(pb::GetBlockRequest {
            at: Some(pb::get_block_request::At::Id(vec![1; 33])),
        })
        .await
        .expect_err("long id");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    let s = c
        .submit_certificate(pb::SubmitTxRequest { tx: identity_tx() })
        .await
        .expect_err("not a certificate");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    let s = c
        .get_inclusion_proof(pb::GetInclusionProofRequest {
            leaf_index: 5,
            tree_size: 5,
        })
        .await
        .expect_err("out of range");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    let s = c
        .subscribe(pb::SubscribeRequest::default())
        .await
        .expect_err("no kind");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    let s = c
        .subscribe(pb::SubscribeRequest {
            kind: pb::EventKind::NewBlocks.into(),
            service: Some("web".into()),
            ..pb::SubscribeRequest::default()
        })
        .await
        .expect_err("filter on blocks");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);

    // A node failure: INTERNAL, -32603.
    let s = c
        .get_block(pb::GetBlockRequest::from(BlockRef::Height(u64::MAX)))
        .await
        .expect_err("internal");
    assert_eq!(maat_code(&s), codes::INTERNAL);
    assert_eq!(s.message(), "storage read failed");

    // The request timeout: DEADLINE_EXCEEDED, -32003.
    let s = c
        .get_identity(pb::GetIdentityRequest { id: SLOW_ID.into() })
        .await
        .expect_err("slow");
    assert_eq!(s.code(), Code::DeadlineExceeded);
    assert_eq!(maat_code(&s), codes::TIMEOUT);

    server.stop().await;
}

async fn next(stream: &mut tonic::Streaming<pb::NodeEvent>) -> Result<NodeEvent, Status> {
    let item = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("an item in time")
        .expect("stream open")?;
    Ok(NodeEvent::try_from(item).expect("event"))
}

#[tokio::test]
async fn subscriptions_stream_filtered_events() {
    let node = FakeNode::new(64);
    let (server, mut c) = serve_with(node.clone(), RpcLimits::default()).await;
    let request = |kind: SubscriptionKind, filter: EventFilter| pb::subscribe_request(kind, filter);
    let mut blocks = c
        .subscribe(request(SubscriptionKind::NewBlocks, EventFilter::default()))
        .await
        .expect("blocks")
        .into_inner();
    let filter = EventFilter {
        service: Some("web".into()),
        environment: Some("prod".into()),
        agent: None,
    };
    let mut web_prod = c
        .subscribe(request(SubscriptionKind::FinalizedTxs, filter))
        .await
        .expect("txs")
        .into_inner();
    let mut equivocations = c
        .subscribe(request(
            SubscriptionKind::Equivocations,
            EventFilter::default(),
        ))
        .await
        .expect("equivocations")
        .into_inner();
    assert_eq!(node.events.receiver_count(), 3);

    let wanted = finalized(10, Some("web"), Some("prod"), Some("ci"));
    for e in [
        new_block(1),
        finalized(11, Some("web"), Some("staging"), None),
        finalized(12, Some("api"), Some("prod"), None),
        finalized(13, None, None, None),
        wanted.clone(),
        equivocation(2),
        new_block(2),
    ] {
        node.emit(e);
    }
    assert_eq!(next(&mut blocks).await.expect("event"), new_block(1));
    assert_eq!(next(&mut blocks).await.expect("event"), new_block(2));
    assert_eq!(next(&mut web_prod).await.expect("event"), wanted);
    assert_eq!(
        next(&mut equivocations).await.expect("event"),
        equivocation(2)
    );

    // Dropping a stream releases the server's receiver.
    drop(blocks);
    let released = tokio::time::timeout(PATIENCE, async {
        while node.events.receiver_count() != 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(released.is_ok(), "{}", node.events.receiver_count());

    // Stopping the server ends the open streams (and does not hang on them).
    tokio::time::timeout(PATIENCE, server.stop())
        .await
        .expect("stop does not wait for subscribers");
    let end = tokio::time::timeout(PATIENCE, web_prod.next())
        .await
        .expect("ended in time");
    assert!(matches!(end, None | Some(Err(_))), "{end:?}");
}

#[tokio::test]
async fn lagging_stream_ends_with_resource_exhausted() {
    let node = FakeNode::new(4);
    let (server, mut c) = serve_with(node.clone(), RpcLimits::default()).await;
    let mut blocks = c
        .subscribe(pb::subscribe_request(
            SubscriptionKind::NewBlocks,
            EventFilter::default(),
        ))
        .await
        .expect("subscribe")
        .into_inner();
    // Ten events into a channel of four before the server's stream is polled again.
    for h in 1..=10 {
        node.emit(new_block(h));
    }
    let s = next(&mut blocks).await.expect_err("lagged");
    assert_eq!(s.code(), Code::ResourceExhausted);
    assert_eq!(maat_code(&s), codes::SUBSCRIPTION_LAGGED);
    assert!(s.message().contains("missed 6 events"), "{}", s.message());
    let end = tokio::time::timeout(PATIENCE, blocks.next())
        .await
        .expect("ended in time");
    assert!(end.is_none(), "{end:?}");
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_per_client() {
    let limits = RpcLimits {
        rate_per_sec: 1,
        burst: 3,
        ..RpcLimits::default()
    };
    let (server, mut c) = serve_with(FakeNode::new(1), limits).await;
    for i in 0..3 {
        c.status(pb::StatusRequest {})
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    let s = c.status(pb::StatusRequest {}).await.expect_err("limited");
    assert_eq!(s.code(), Code::ResourceExhausted);
    assert_eq!(maat_code(&s), codes::RATE_LIMITED);
    // Per address: another connection from 127.0.0.1 is limited too.
    let mut other = client(&server).await;
    let s = other
        .health(pb::HealthRequest {})
        .await
        .expect_err("limited");
    assert_eq!(maat_code(&s), codes::RATE_LIMITED);
    server.stop().await;
}

#[tokio::test]
async fn connection_limit() {
    let limits = RpcLimits {
        max_connections: 1,
        ..RpcLimits::default()
    };
    let (server, mut first) = serve_with(FakeNode::new(1), limits).await;
    first.status(pb::StatusRequest {}).await.expect("first");
    // A second connection is closed at once.
    let second = Channel::from_shared(format!("http://{}", server.local_addr()))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect_lazy();
    let s = NodeApiClient::new(second)
        .status(pb::StatusRequest {})
        .await
        .expect_err("over the limit");
    assert!(
        matches!(
            s.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        ),
        "{s:?}"
    );
    first
        .status(pb::StatusRequest {})
        .await
        .expect("the first is still served");
    server.stop().await;
}

#[tokio::test]
async fn message_size_limits() {
    let limits = RpcLimits {
        max_request_bytes: 1024,
        max_response_bytes: 2048,
        ..RpcLimits::default()
    };
    let (server, mut c) = serve_with(FakeNode::new(1), limits).await;
    let s = c
        .submit_tx(pb::SubmitTxRequest { tx: vec![7; 2000] })
        .await
        .expect_err("too large");
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    c.submit_tx(pb::SubmitTxRequest { tx: vec![7; 900] })
        .await
        .expect("small enough");
    let s = c
        .get_block(pb::GetBlockRequest::from(BlockRef::Height(BIG_BLOCK)))
        .await
        .expect_err("response too large");
    assert_eq!(s.code(), Code::OutOfRange, "{s:?}");
    server.stop().await;
}

#[tokio::test]
async fn health_and_reflection_services() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let (server, _c) = serve().await;
    let channel = Channel::from_shared(format!("http://{}", server.local_addr()))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel.clone());
    for service in ["", pb::SERVICE_NAME] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("check")
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.next().await.expect("a response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("{response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        pb::SERVICE_NAME,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    server.stop().await;
}

/// The audit and attestation RPCs: results as the JSON-RPC types (through the conversions),
/// "not found" as absent fields, page limits and node errors as statuses with their codes.
#[tokio::test]
async fn audit_and_attestation_rpcs() {
    use maat_rpc::{
        AttestationInfo, AttestationPage, AuditChainPage, AuditChainVerification, AuditRecordInfo,
        PageCursor,
    };

    let (server, mut c) = serve().await;

    // GetAuditRecord: the record with its finality proof (as JSON text), or absent.
    let r = c
        .get_audit_record(pb::GetAuditRecordRequest {
            tx_id: AUDIT_TX.to_vec(),
        })
        .await
        .expect("record")
        .into_inner();
    let proof_json = r
        .record
        .as_ref()
        .and_then(|rec| rec.finality_proof_json.clone())
        .expect("proof json");
    assert_eq!(
        serde_json::from_str::<Value>(&proof_json).expect("json"),
        serde_json::to_value(proof()).expect("json")
    );
    let record = Option::<AuditRecordInfo>::try_from(r).expect("convert");
    assert_eq!(record, Some(audit_record()));
    let r = c
        .get_audit_record(pb::GetAuditRecordRequest {
            tx_id: [0x99; 32].to_vec(),
        })
        .await
        .expect("none")
        .into_inner();
    assert!(r.record.is_none());
    let s = c
        .get_audit_record(pb::GetAuditRecordRequest { tx_id: vec![1; 31] })
        .await
        .expect_err("short id");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);
    let s = c
        .get_audit_record(pb::GetAuditRecordRequest {
            tx_id: UNAVAILABLE_AUDIT_TX.to_vec(),
        })
        .await
        .expect_err("unavailable");
    assert_eq!(maat_code(&s), codes::UNAVAILABLE);

    // GetAuditChain: defaults (from 1, limit 1000), explicit pages, limits out of range.
    let r = c
        .get_audit_chain(pb::GetAuditChainRequest {
            agent_id: AUDIT_AGENT.into(),
            from_sequence: None,
            limit: None,
        })
        .await
        .expect("chain")
        .into_inner();
    let page = AuditChainPage::try_from(r).expect("convert");
    assert_eq!(page.length, 3);
    assert_eq!(
        page.records.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(page.records.iter().all(|r| r.finality_proof.is_none()));
    assert_eq!(page.next, None);
    let r = c
        .get_audit_chain(pb::GetAuditChainRequest {
            agent_id: AUDIT_AGENT.into(),
            from_sequence: Some(2),
            limit: Some(1),
        })
        .await
        .expect("chain")
        .into_inner();
    assert_eq!(r.next, Some(3));
    assert_eq!(r.records.len(), 1);
    assert_eq!(r.records[0].sequence, 2);
    assert_eq!(r.records[0].data_json, audit_record().data_json);
    for limit in [0, 1001] {
        let s = c
            .get_audit_chain(pb::GetAuditChainRequest {
                agent_id: AUDIT_AGENT.into(),
                from_sequence: None,
                limit: Some(limit),
            })
            .await
            .expect_err("limit out of range");
        assert_eq!(maat_code(&s), codes::INVALID_PARAMS, "{limit}");
    }

    // VerifyAuditChain: to the end by default, or to a sequence; unknown agents are errors.
    let r = c
        .verify_audit_chain(pb::VerifyAuditChainRequest {
            agent_id: AUDIT_AGENT.into(),
            to_sequence: None,
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(
        AuditChainVerification::try_from(r).expect("convert"),
        verification(3)
    );
    let r = c
        .verify_audit_chain(pb::VerifyAuditChainRequest {
            agent_id: AUDIT_AGENT.into(),
            to_sequence: Some(2),
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(r.to_sequence, 2);
    assert_eq!(r.head_record_hash, vec![2; 32]);
    let s = c
        .verify_audit_chain(pb::VerifyAuditChainRequest {
            agent_id: "nobody".into(),
            to_sequence: None,
        })
        .await
        .expect_err("unknown agent");
    assert_eq!(maat_code(&s), codes::INVALID_PARAMS);

    // GetAttestation: present (envelope as JSON text) or absent.
    let r = c
        .get_attestation(pb::GetAttestationRequest { log_index: 7 })
        .await
        .expect("attestation")
        .into_inner();
    let envelope_json = r
        .attestation
        .as_ref()
        .map(|a| a.envelope_json.clone())
        .expect("envelope");
    assert_eq!(
        serde_json::from_str::<Value>(&envelope_json).expect("json"),
        attestations()[0].envelope
    );
    assert_eq!(
        Option::<AttestationInfo>::try_from(r).expect("convert"),
        Some(attestations()[0].clone())
    );
    let r = c
        .get_attestation(pb::GetAttestationRequest { log_index: 9 })
        .await
        .expect("none")
        .into_inner();
    assert!(r.attestation.is_none());

    // GetAttestationsBySubject: pages through `next` / `after`.
    let r = c
        .get_attestations_by_subject(pb::GetAttestationsBySubjectRequest {
            subject: ATTESTED_SUBJECT.into(),
            after: None,
            limit: Some(1),
        })
        .await
        .expect("page")
        .into_inner();
    let first = AttestationPage::try_from(r).expect("convert");
    assert_eq!(first.attestations, attestations()[..1].to_vec());
    let next = first.next.expect("a next page");
    assert_eq!(
        next,
        PageCursor {
            height: 7,
            position: 0
        }
    );
    let r = c
        .get_attestations_by_subject(pb::GetAttestationsBySubjectRequest {
            subject: ATTESTED_SUBJECT.into(),
            after: Some(next.into()),
            limit: None,
        })
        .await
        .expect("page")
        .into_inner();
    assert!(r.next.is_none());
    let second = AttestationPage::try_from(r).expect("convert");
    assert_eq!(second.attestations, attestations()[1..].to_vec());
    for (subject, limit) in [("md5:abcd", None), (ATTESTED_SUBJECT, Some(101))] {
        let s = c
            .get_attestations_by_subject(pb::GetAttestationsBySubjectRequest {
                subject: subject.into(),
                after: None,
                limit,
            })
            .await
            .expect_err("invalid");
        assert_eq!(maat_code(&s), codes::INVALID_PARAMS, "{subject} {limit:?}");
    }
    server.stop().await;
}
