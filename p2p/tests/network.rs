//! Real sockets on 127.0.0.1: discovery, gossip, request-response, chain gating, bans, framing.

mod common;

use std::time::Duration;

use common::{CHAIN, Ev, TestNode, config, init_tracing, peer, publish_until_received, start};
use maat_p2p::{Misbehaviour, P2pError, RequestFailure, Topic};

async fn request_ok(from: &TestNode, to: &TestNode, data: &[u8]) -> Vec<u8> {
    from.handle
        .request(to.id, data.to_vec())
        .await
        .expect("request answered")
}

/// B and C know only A; Kademlia makes the three a full mesh; gossip on both topics and
/// requests work; requests that cannot succeed fail instead of hanging.
#[tokio::test]
async fn three_nodes_discover_gossip_and_request() {
    init_tracing();
    let keep = [1, 2, 3];
    let mut a = start(config(1, CHAIN, &[], &keep)).await;
    let mut b = start(config(2, CHAIN, &[&a], &keep)).await;
    let mut c = start(config(3, CHAIN, &[&a], &keep)).await;

    a.expect_connected(b.id).await;
    a.expect_connected(c.id).await;
    b.expect_connected(a.id).await;
    c.expect_connected(a.id).await;
    // B and C never got each other's address from the configuration: Kademlia found it.
    b.expect_connected(c.id).await;
    c.expect_connected(b.id).await;
    let mut peers = a.handle.connected_peers().await;
    peers.sort();
    let mut want = vec![b.id, c.id];
    want.sort();
    assert_eq!(peers, want);

    publish_until_received(&a, &mut [&mut b, &mut c], Topic::Transactions, b"tx from a").await;
    publish_until_received(
        &b,
        &mut [&mut a, &mut c],
        Topic::Proposals,
        b"proposal from b",
    )
    .await;
    publish_until_received(&c, &mut [&mut a, &mut b], Topic::Transactions, b"tx from c").await;

    assert_eq!(request_ok(&b, &a, b"ping").await, b"echo:ping");
    assert_eq!(request_ok(&c, &b, b"sync 7").await, b"echo:sync 7");
    // An empty response is the ack of `send`; `request` sees it as an empty response.
    assert_eq!(request_ok(&a, &c, b"send:probe").await, b"");

    // Fire-and-forget: the receiver gets the request, the sender moves on.
    a.handle.send(c.id, b"send:vote".to_vec());
    let (from, data) = c
        .expect("the sent request", |e| match e {
            Ev::Request { peer, data } if data == b"send:vote" => Some((*peer, data.clone())),
            _ => None,
        })
        .await;
    assert_eq!((from, data.as_slice()), (a.id, b"send:vote".as_slice()));

    // A dropped response channel is an error for the requester.
    let err = b.handle.request(c.id, b"drop".to_vec()).await.unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err}");

    // A peer nobody knows an address of: a dial failure, well before the request timeout.
    let started = tokio::time::Instant::now();
    let err = a
        .handle
        .request(peer(99), b"hello".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            P2pError::Request {
                reason: RequestFailure::DialFailure,
                ..
            }
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // Ourselves: refused at once.
    let err = a.handle.request(a.id, b"hello".to_vec()).await.unwrap_err();
    assert!(
        matches!(
            err,
            P2pError::Request {
                reason: RequestFailure::LocalPeer,
                ..
            }
        ),
        "{err}"
    );

    for n in [&a, &b, &c] {
        n.handle.shutdown();
    }
}

/// A node of another chain that bootstraps from A is refused: no `PeerConnected`, no gossip, no
/// request ever reaches A. Its chain hash differs only in the last byte, so even the request
/// protocol name (which carries only a prefix of the hash) matches: identify must catch it.
#[tokio::test]
async fn wrong_chain_peer_is_refused() {
    init_tracing();
    let mut other_chain = CHAIN;
    other_chain[31] ^= 0xff;
    let mut a = start(config(1, CHAIN, &[], &[1, 2])).await;
    let mut b = start(config(2, CHAIN, &[&a], &[1, 2])).await;
    let mut w = start(config(3, other_chain, &[&a], &[1])).await;

    a.expect_connected(b.id).await;
    b.expect_connected(a.id).await;

    // W's request cannot be answered: it is held until identify, then W is banned.
    let err = w
        .handle
        .request(a.id, b"hello from another chain".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err}");
    for topic in [Topic::Transactions, Topic::Proposals] {
        w.handle.publish(topic, b"foreign gossip".to_vec());
    }
    // Redial refused while banned.
    let err = w.handle.request(a.id, b"again".to_vec()).await.unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err}");

    // A's gossip and requests keep working for its own chain in the meantime.
    publish_until_received(&b, &mut [&mut a], Topic::Transactions, b"tx from b").await;
    assert_eq!(request_ok(&b, &a, b"ping").await, b"echo:ping");

    assert!(!a.handle.connected_peers().await.contains(&w.id));
    assert!(!w.handle.connected_peers().await.contains(&a.id));
    let wid = w.id;
    for e in a.drain() {
        match e {
            Ev::Connected(p) => assert_ne!(*p, wid, "wrong-chain peer announced"),
            Ev::Gossip { source, from, .. } => {
                assert_ne!(*from, wid, "gossip via wrong-chain peer");
                assert_ne!(*source, Some(wid), "gossip from wrong-chain peer");
            }
            Ev::Request { peer, .. } => assert_ne!(*peer, wid, "request from wrong-chain peer"),
            Ev::Disconnected(_) => {}
        }
    }
    let aid = a.id;
    assert!(
        !w.drain()
            .iter()
            .any(|e| matches!(e, Ev::Connected(p) if *p == aid)),
        "the wrong-chain node announced A"
    );
    for n in [&a, &b, &w] {
        n.handle.shutdown();
    }
}

/// Reports add up: one Malformed keeps the peer, a second one bans it; while banned its redials
/// are refused; after the ban it comes back; `BadSignature` bans at once.
#[tokio::test]
async fn misbehaving_peer_is_banned_and_redial_refused() {
    init_tracing();
    let ban = Duration::from_secs(2);
    let mut ca = config(1, CHAIN, &[], &[1, 2]);
    ca.ban_duration = ban;
    let mut a = start(ca).await;
    // B keeps A in its keep-connected set, so it redials A on its own.
    let mut b = start(config(2, CHAIN, &[&a], &[1, 2])).await;
    a.expect_connected(b.id).await;
    b.expect_connected(a.id).await;

    a.handle.report(b.id, Misbehaviour::Malformed);
    // Score -50: still connected and served.
    assert_eq!(request_ok(&b, &a, b"still here").await, b"echo:still here");
    assert!(a.handle.connected_peers().await.contains(&b.id));

    a.handle.report(b.id, Misbehaviour::Malformed);
    let banned_at = tokio::time::Instant::now();
    a.expect_disconnected(b.id).await;
    b.expect_disconnected(a.id).await;

    // B redials (explicitly here, and through its keep-connected set): refused while banned.
    let err = b
        .handle
        .request(a.id, b"let me in".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err}");
    assert!(
        banned_at.elapsed() < ban,
        "test too slow to observe the ban"
    );
    assert!(!a.handle.connected_peers().await.contains(&b.id));

    // The ban expires and B's redial gets through.
    a.expect_connected(b.id).await;
    assert!(banned_at.elapsed() >= ban, "reconnected while banned");
    b.expect_connected(a.id).await;
    assert_eq!(request_ok(&b, &a, b"back").await, b"echo:back");

    // BadSignature is worth a ban on its own.
    a.handle.report(b.id, Misbehaviour::BadSignature);
    a.expect_disconnected(b.id).await;

    a.handle.shutdown();
    b.handle.shutdown();
}

/// A request frame above the receiver's limit is refused from its length prefix: the receiver
/// never sees the request, reports the sender Oversized (a ban), and the requester gets an error.
#[tokio::test]
async fn oversized_request_frame_is_refused() {
    init_tracing();
    let mut cs = config(1, CHAIN, &[], &[1, 2]);
    cs.max_message_bytes = 64 * 1024;
    let mut s = start(cs).await;
    let mut cr = config(2, CHAIN, &[&s], &[1, 2]);
    cr.max_message_bytes = 1024 * 1024;
    let mut r = start(cr).await;
    s.expect_connected(r.id).await;
    r.expect_connected(s.id).await;

    // Within both limits: fine.
    let ok = r
        .handle
        .request(s.id, vec![7u8; 60 * 1024])
        .await
        .expect("in-limit request");
    assert_eq!(ok.len(), 5 + 60 * 1024);

    // Above S's limit (the requester's own limit allows it).
    let err = r
        .handle
        .request(s.id, vec![7u8; 200 * 1024])
        .await
        .unwrap_err();
    assert!(matches!(err, P2pError::Request { .. }), "{err}");
    s.expect_disconnected(r.id).await;
    let rid = r.id;
    assert!(
        !s.drain().iter().any(
            |e| matches!(e, Ev::Request { peer, data } if *peer == rid && data.len() > 64 * 1024)
        ),
        "oversized request delivered"
    );

    // Our own limit is enforced before anything is sent.
    let err = s
        .handle
        .request(r.id, vec![0u8; 64 * 1024 + 1])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            P2pError::TooLarge {
                len: 65_537,
                max: 65_536
            }
        ),
        "{err}"
    );

    s.handle.shutdown();
    r.handle.shutdown();
}

/// A raw libp2p node claiming another chain in identify but speaking our request protocol (the
/// protocol name only carries a prefix of the chain hash) and never banning anyone itself: A
/// must hold its request until identify, then drop it, disconnect and ban it.
#[tokio::test]
async fn wrong_chain_identify_is_banned_by_the_receiver() {
    use futures::StreamExt;
    use libp2p::{
        StreamProtocol, SwarmBuilder, identify,
        identity::Keypair,
        noise, request_response,
        swarm::{NetworkBehaviour, SwarmEvent},
        tcp, yamux,
    };

    #[derive(Clone, Default)]
    struct RawCodec;
    impl request_response::Codec for RawCodec {
        type Protocol = StreamProtocol;
        type Request = Vec<u8>;
        type Response = Vec<u8>;
        async fn read_request<T: futures::AsyncRead + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
        ) -> std::io::Result<Vec<u8>> {
            maat_p2p::codec::read_frame(io, 1 << 20).await
        }
        async fn read_response<T: futures::AsyncRead + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
        ) -> std::io::Result<Vec<u8>> {
            maat_p2p::codec::read_frame(io, 1 << 20).await
        }
        async fn write_request<T: futures::AsyncWrite + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            req: Vec<u8>,
        ) -> std::io::Result<()> {
            maat_p2p::codec::write_frame(io, &req, 1 << 20).await
        }
        async fn write_response<T: futures::AsyncWrite + Unpin + Send>(
            &mut self,
            _: &StreamProtocol,
            io: &mut T,
            res: Vec<u8>,
        ) -> std::io::Result<()> {
            maat_p2p::codec::write_frame(io, &res, 1 << 20).await
        }
    }

    #[derive(NetworkBehaviour)]
    struct Rogue {
        identify: identify::Behaviour,
        rr: request_response::Behaviour<RawCodec>,
    }

    init_tracing();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut other_chain = CHAIN;
    other_chain[31] ^= 0xff;
    let mut a = start(config(1, CHAIN, &[], &[1])).await;

    let key = Keypair::ed25519_from_bytes([42u8; 32]).unwrap();
    let rogue_id = key.public().to_peer_id();
    let rr_protocol =
        StreamProtocol::try_from_owned(format!("/maat/{}/rr/1", &hex(&CHAIN)[..16])).unwrap();
    let mut rogue = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| Rogue {
            identify: identify::Behaviour::new(identify::Config::new(
                format!("maat/{}", hex(&other_chain)),
                key.public(),
            )),
            rr: request_response::Behaviour::with_codec(
                RawCodec,
                [(rr_protocol, request_response::ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();

    // Request, then redial and request again while banned: both fail, A never sees them.
    for attempt in 0..2 {
        rogue.add_peer_address(a.id, a.addr.clone());
        let id = rogue
            .behaviour_mut()
            .rr
            .send_request(&a.id, b"rogue request".to_vec());
        let (mut failed, mut closed) = (false, false);
        tokio::time::timeout(common::GUARD, async {
            while !(failed && closed) {
                match rogue.select_next_some().await {
                    SwarmEvent::Behaviour(RogueEvent::Rr(request_response::Event::Message {
                        message: request_response::Message::Response { .. },
                        ..
                    })) => panic!("attempt {attempt}: A answered a wrong-chain peer"),
                    SwarmEvent::Behaviour(RogueEvent::Rr(
                        request_response::Event::OutboundFailure { request_id, .. },
                    )) if request_id == id => failed = true,
                    SwarmEvent::ConnectionClosed {
                        peer_id,
                        num_established: 0,
                        ..
                    } if peer_id == a.id => closed = true,
                    SwarmEvent::OutgoingConnectionError {
                        peer_id: Some(p), ..
                    } if p == a.id => closed = true,
                    _ => {}
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("attempt {attempt}: rogue not refused in time"));
    }

    // A is still fine, and never surfaced anything from the rogue.
    assert!(!a.handle.connected_peers().await.contains(&rogue_id));
    assert!(
        !a.drain().iter().any(|e| matches!(e,
            Ev::Connected(p) | Ev::Request { peer: p, .. } if *p == rogue_id)),
        "wrong-chain peer surfaced"
    );
    a.handle.shutdown();
}
