//! Test harness: nodes on 127.0.0.1 with tcp port 0, an event pump per node that answers
//! requests, and helpers that await events with a generous timeout (failure guard only).

#![allow(dead_code)]

use std::time::Duration;

use maat_p2p::{GossipId, Multiaddr, P2pConfig, P2pEvent, P2pHandle, PeerId, Topic};
use tokio::sync::mpsc;

/// Upper bound for anything the tests await; only reached when a test fails.
pub const GUARD: Duration = Duration::from_secs(20);

pub const CHAIN: [u8; 32] = [0x11; 32];

/// What a test node observed (requests are answered by the pump).
#[derive(Debug, Clone)]
pub enum Ev {
    Gossip {
        topic: Topic,
        source: Option<PeerId>,
        from: PeerId,
        id: GossipId,
        data: Vec<u8>,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
    },
    Connected(PeerId),
    Disconnected(PeerId),
}

pub struct TestNode {
    pub handle: P2pHandle,
    pub id: PeerId,
    /// Listen address with /p2p/<id>, to bootstrap from.
    pub addr: Multiaddr,
    events: mpsc::UnboundedReceiver<Ev>,
    /// Events seen but not yet matched by an `expect`.
    backlog: Vec<Ev>,
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

pub fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

pub fn peer(n: u8) -> PeerId {
    maat_p2p::peer_id_from_seed(&seed(n))
}

pub fn config(n: u8, chain: [u8; 32], bootstrap: &[&TestNode], keep: &[u8]) -> P2pConfig {
    let mut c = P2pConfig::new(seed(n), chain);
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()];
    c.bootstrap = bootstrap.iter().map(|b| b.addr.clone()).collect();
    c.keep_connected = keep.iter().map(|k| peer(*k)).collect();
    c.max_message_bytes = 64 * 1024;
    c.request_timeout = Duration::from_secs(5);
    c.ban_duration = Duration::from_secs(10);
    c.discovery_interval = Duration::from_millis(500);
    c
}

/// Starts a node, waits for its listen address, then pumps its events: requests are answered
/// with `echo:<request>` (an empty ack for requests starting with `send:`, nothing at all for
/// `drop`), everything is forwarded to the test.
pub async fn start(config: P2pConfig) -> TestNode {
    let (handle, mut rx) = maat_p2p::spawn(config).expect("spawn");
    let id = handle.local_peer_id();
    let listen = match tokio::time::timeout(GUARD, rx.recv())
        .await
        .expect("listening in time")
    {
        Some(P2pEvent::Listening(addr)) => addr,
        other => panic!("expected Listening first, got {other:?}"),
    };
    let addr: Multiaddr = format!("{listen}/p2p/{id}").parse().expect("p2p address");
    let (tx, events) = mpsc::unbounded_channel();
    let pump = handle.clone();
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let ev = match event {
                P2pEvent::Gossip {
                    topic,
                    source,
                    propagation_source,
                    id,
                    data,
                } => Ev::Gossip {
                    topic,
                    source,
                    from: propagation_source,
                    id,
                    data,
                },
                P2pEvent::Request {
                    peer,
                    data,
                    channel,
                } => {
                    if data.starts_with(b"send:") {
                        pump.respond(channel, Vec::new());
                    } else if data != b"drop" {
                        pump.respond(channel, [b"echo:".as_slice(), &data].concat());
                    }
                    Ev::Request { peer, data }
                }
                P2pEvent::PeerConnected(p) => Ev::Connected(p),
                P2pEvent::PeerDisconnected(p) => Ev::Disconnected(p),
                P2pEvent::Listening(_) => continue,
            };
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    TestNode {
        handle,
        id,
        addr,
        events,
        backlog: Vec::new(),
    }
}

impl TestNode {
    /// Waits (at most `within`) for the first event, old or new, that `pick` accepts.
    pub async fn try_expect<T>(
        &mut self,
        within: Duration,
        mut pick: impl FnMut(&Ev) -> Option<T>,
    ) -> Option<T> {
        if let Some(i) = self.backlog.iter().position(|e| pick(e).is_some()) {
            let ev = self.backlog.remove(i);
            return pick(&ev);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if let Some(t) = pick(&ev) {
                return Some(t);
            }
            self.backlog.push(ev);
        }
    }

    /// Like `try_expect` with the failure guard; panics with `what` on timeout.
    pub async fn expect<T>(&mut self, what: &str, pick: impl FnMut(&Ev) -> Option<T>) -> T {
        match self.try_expect(GUARD, pick).await {
            Some(t) => t,
            None => panic!("{}: timed out waiting for {what}", self.id),
        }
    }

    pub async fn expect_connected(&mut self, peer: PeerId) {
        self.expect(&format!("PeerConnected({peer})"), |e| {
            matches!(e, Ev::Connected(p) if *p == peer).then_some(())
        })
        .await;
    }

    pub async fn expect_disconnected(&mut self, peer: PeerId) {
        self.expect(&format!("PeerDisconnected({peer})"), |e| {
            matches!(e, Ev::Disconnected(p) if *p == peer).then_some(())
        })
        .await;
    }

    /// Moves every event already delivered into the backlog and returns it.
    pub fn drain(&mut self) -> &[Ev] {
        while let Ok(ev) = self.events.try_recv() {
            self.backlog.push(ev);
        }
        &self.backlog
    }
}

/// Publishes `data` on `topic` from `from` until every receiver got it (gossipsub learns the
/// subscriptions of a new peer shortly after the connection, so the first publishes may reach
/// nobody). Each receiver gives the `Accept` verdict on the first copy.
pub async fn publish_until_received(
    from: &TestNode,
    to: &mut [&mut TestNode],
    topic: Topic,
    data: &[u8],
) {
    let mut got = vec![false; to.len()];
    let start = tokio::time::Instant::now();
    let mut attempt = 0u32;
    while got.iter().any(|g| !g) {
        assert!(
            start.elapsed() < GUARD,
            "gossip on {topic:?} not received in time"
        );
        attempt += 1;
        let payload = [data, b"#", attempt.to_string().as_bytes()].concat();
        from.handle.publish(topic, payload);
        for (i, node) in to.iter_mut().enumerate() {
            if got[i] {
                continue;
            }
            let source = from.id;
            let hit = node
                .try_expect(Duration::from_millis(300), |e| match e {
                    Ev::Gossip {
                        topic: t,
                        source: Some(s),
                        from,
                        id,
                        data: d,
                    } if *t == topic && *s == source && d.starts_with(data) => {
                        Some((id.clone(), *from))
                    }
                    _ => None,
                })
                .await;
            if let Some((id, propagation_source)) = hit {
                node.handle
                    .gossip_verdict(id, propagation_source, maat_p2p::Verdict::Accept);
                got[i] = true;
            }
        }
    }
}
