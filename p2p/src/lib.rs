//! `maat-p2p`: the validator network of Maat on libp2p (TCP + Noise + Yamux, on tokio).
//!
//! The crate is payload-agnostic: it moves bytes. The node encodes and decodes its own wire
//! messages (consensus messages, block-sync requests, transactions) and tells this crate, through
//! [`P2pHandle::report`] and [`P2pHandle::gossip_verdict`], when a peer misbehaved.
//!
//! # Architecture
//!
//! [`spawn`] builds a libp2p `Swarm` and moves it into one tokio task that owns it. The returned
//! [`P2pHandle`] (cheap to clone) sends commands to that task over an unbounded channel; the task
//! sends [`P2pEvent`]s out over a bounded channel (capacity [`EVENT_CHANNEL_CAPACITY`]).
//! The task never blocks on the event channel: when it is full, gossip is dropped (and reported to
//! gossipsub as `Ignore`, so it is not forwarded), inbound requests are dropped (the requester gets
//! an error), and connection events wait in an internal queue so none is lost.
//! The task stops on [`P2pHandle::shutdown`] or when every handle is dropped.
//!
//! # Protocols (`<chain>` = hex of [`P2pConfig::chain_hash`], 64 characters)
//!
//! | what | name |
//! | --- | --- |
//! | identify protocol version | `maat/<chain>` |
//! | Kademlia (server mode, record inserts filtered) | `/maat/<chain>/kad/1` |
//! | gossip topic: transactions | `/maat/<chain>/tx/1` |
//! | gossip topic: block proposals | `/maat/<chain>/proposal/1` |
//! | request-response | `/maat/<first 16 hex chars of chain>/rr/1` |
//!
//! Gossipsub runs with signed messages (strict validation) and `validate_messages()`: a received
//! message is not forwarded until the node gives its [`Verdict`]. Its `max_transmit_size` is
//! [`P2pConfig::max_message_bytes`] plus [`GOSSIP_ENVELOPE_OVERHEAD`] (for the signature, key and
//! topic); a payload above `max_message_bytes` is rejected and its forwarder reported `Oversized`.
//!
//! Request-response frames are a `u32` big-endian length then the bytes (see [`codec`]); a length
//! above `max_message_bytes` is refused before anything is allocated and the sender is reported
//! `Oversized`. An empty response is the acknowledgement of [`P2pHandle::send`].
//!
//! # Chain gating
//!
//! The chain hash is in every protocol name, so nodes of another chain share no topic, no DHT and
//! no request protocol with us. On top of that, a peer whose identify protocol version names
//! another chain is disconnected and banned at once ([`Misbehaviour::WrongChain`]).
//! [`P2pEvent::PeerConnected`] is only emitted once the peer's identify has confirmed the chain,
//! and [`P2pHandle::connected_peers`] lists only such confirmed peers. The request protocol name
//! carries only a prefix of the hash, so inbound requests of a peer not confirmed yet are held
//! (up to 16) until its identify arrives, and dropped if it names another chain. A peer that has
//! not confirmed the chain within 20 s of connecting is disconnected.
//!
//! # Discovery and the keep-connected set
//!
//! Bootstrap peers are dialed and seeded into Kademlia at start; Kademlia bootstraps then, on new
//! routing-table entries, every [`P2pConfig::discovery_interval`], and again at once (throttled)
//! when the routing table becomes empty. The listen addresses a confirmed peer reports through
//! identify are added to Kademlia. Peers of [`P2pConfig::keep_connected`] (the validators) are
//! dialed as soon as an address is known (Kademlia routing update, DHT lookup result, identify),
//! redialed after a disconnection with exponential backoff (0.5 s doubling to 30 s, reset once the
//! peer is confirmed), and looked up with `get_closest_peers` every discovery interval while
//! missing. Connections stay open while idle for [`IDLE_CONNECTION_TIMEOUT`].
//!
//! # Scoring and bans
//!
//! Every peer has a score starting at 0. [`P2pHandle::report`] subtracts a penalty
//! ([`Misbehaviour::penalty`]: `Malformed` 50, `BadSignature` 100, `Oversized` 100, `Spam` 20;
//! `WrongChain` bans at once). A `Reject` verdict on gossip counts as `Malformed` for the forwarding peer. At a
//! score of [`BAN_THRESHOLD`] or below the peer is disconnected and banned for
//! [`P2pConfig::ban_duration`]: libp2p's block list refuses its connections both ways, it is
//! removed from Kademlia and requests to it fail at once. When the ban ends its score is reset.
//! Negative scores recover by [`SCORE_RECOVERY`] points a minute, so rare faults do not add up
//! to a ban over days.

#![deny(missing_docs)]

pub mod codec;
mod swarm;

use std::{fmt, time::Duration};

pub use libp2p::{Multiaddr, PeerId};
use libp2p::{gossipsub, identity::Keypair, request_response};
use tokio::sync::{mpsc, oneshot};

/// Capacity of the event channel returned by [`spawn`].
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;

/// Bytes allowed on top of [`P2pConfig::max_message_bytes`] in a gossipsub frame (signature,
/// public key, topic, sequence number, protobuf tags).
pub const GOSSIP_ENVELOPE_OVERHEAD: usize = 1024;

/// Score at or below which a peer is disconnected and banned.
pub const BAN_THRESHOLD: i64 = -100;

/// Points a negative score recovers each minute.
pub const SCORE_RECOVERY: i64 = 10;

/// How long a connection without any open stream stays up. Long, so that validators stay
/// connected between rounds instead of reconnecting for every message.
pub const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);

/// Configuration of the network.
#[derive(Clone)]
pub struct P2pConfig {
    /// Ed25519 secret key seed (32 bytes) of this node's libp2p identity.
    pub key_seed: [u8; 32],
    /// Addresses to listen on, e.g. `/ip4/127.0.0.1/tcp/26656` (tcp port 0 allowed in tests).
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers: full addresses ending in `/p2p/<peer id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// BLAKE3 genesis hash: identifies the chain. Its hex is in the identify protocol version,
    /// the Kademlia protocol name, the request-response protocol name and the gossipsub topic
    /// names, so peers of another chain cannot talk to us; a peer whose identify says another
    /// chain is disconnected and banned.
    pub chain_hash: [u8; 32],
    /// Peers to stay connected to (the validator set's peer ids from genesis): dialed as soon as
    /// Kademlia/identify gives an address, redialed on disconnect (with backoff), and looked up in
    /// the DHT (`get_closest_peers`) periodically while any is missing.
    pub keep_connected: Vec<PeerId>,
    /// Largest gossip payload and largest request/response frame, in bytes (at most `u32::MAX`).
    pub max_message_bytes: usize,
    /// How long a request may wait for its response (dialing included).
    pub request_timeout: Duration,
    /// How long a banned peer stays banned.
    pub ban_duration: Duration,
    /// Interval of DHT lookups / re-bootstrap (re-bootstrap also at once when the routing table
    /// becomes empty). Must not be zero.
    pub discovery_interval: Duration,
}

impl P2pConfig {
    /// A configuration with no listen address, no bootstrap peer, an empty keep-connected set and
    /// defaults: 4 MiB messages, 10 s request timeout, 10 min bans, 30 s discovery interval.
    #[must_use]
    pub fn new(key_seed: [u8; 32], chain_hash: [u8; 32]) -> Self {
        Self {
            key_seed,
            listen: Vec::new(),
            bootstrap: Vec::new(),
            chain_hash,
            keep_connected: Vec::new(),
            max_message_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            ban_duration: Duration::from_secs(600),
            discovery_interval: Duration::from_secs(30),
        }
    }
}

// Manual so that the secret key seed never ends up in a log.
impl fmt::Debug for P2pConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2pConfig")
            .field("key_seed", &"<redacted>")
            .field("listen", &self.listen)
            .field("bootstrap", &self.bootstrap)
            .field("chain_hash", &hex(&self.chain_hash))
            .field("keep_connected", &self.keep_connected)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("request_timeout", &self.request_timeout)
            .field("ban_duration", &self.ban_duration)
            .field("discovery_interval", &self.discovery_interval)
            .finish()
    }
}

/// A gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Transactions (`/maat/<chain>/tx/1`).
    Transactions,
    /// Block proposals (`/maat/<chain>/proposal/1`).
    Proposals,
    /// Validators' checkpoint cosignatures (`/maat/<chain>/checkpoint/1`).
    Checkpoints,
}

impl Topic {
    /// The gossipsub topic name of this topic on the chain `chain_hash`.
    #[must_use]
    pub fn name(self, chain_hash: &[u8; 32]) -> String {
        let kind = match self {
            Topic::Transactions => "tx",
            Topic::Proposals => "proposal",
            Topic::Checkpoints => "checkpoint",
        };
        format!("/maat/{}/{kind}/1", hex(chain_hash))
    }
}

/// Identifier of a received gossip message, to give its [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GossipId(pub(crate) gossipsub::MessageId);

impl fmt::Display for GossipId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where the answer to an inbound request goes: pass it to [`P2pHandle::respond`]. Dropping it
/// is allowed; the requester then gets an error.
#[derive(Debug)]
pub struct ResponseChannel(pub(crate) request_response::ResponseChannel<Vec<u8>>);

/// What the network tells the node.
#[derive(Debug)]
pub enum P2pEvent {
    /// A gossip message. Gossipsub runs with `validate_messages()`: it is not forwarded to
    /// others until the node calls [`P2pHandle::gossip_verdict`].
    Gossip {
        /// The topic it was published on.
        topic: Topic,
        /// The peer that published (and signed) it.
        source: Option<PeerId>,
        /// The peer we received it from; give it back in the verdict.
        propagation_source: PeerId,
        /// The message id; give it back in the verdict.
        id: GossipId,
        /// The payload (at most `max_message_bytes`).
        data: Vec<u8>,
    },
    /// An inbound request: answer with [`P2pHandle::respond`] (dropping the channel is allowed;
    /// the requester then gets an error).
    Request {
        /// The requesting peer.
        peer: PeerId,
        /// The request frame (at most `max_message_bytes`).
        data: Vec<u8>,
        /// Where the response goes.
        channel: ResponseChannel,
    },
    /// A peer is connected and its identify confirmed our chain (emitted once per peer, on its
    /// first such connection).
    PeerConnected(PeerId),
    /// The last connection to a confirmed peer closed.
    PeerDisconnected(PeerId),
    /// A listen address is live (tests read the real port from here).
    Listening(Multiaddr),
}

/// The node's judgement of a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Valid: forward it.
    Accept,
    /// Not forwarded, no penalty (e.g. a duplicate or a stale message).
    Ignore,
    /// Invalid: not forwarded, and the forwarding peer is reported [`Misbehaviour::Malformed`].
    Reject,
}

/// A peer's misbehaviour, reported by the node (or detected here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Misbehaviour {
    /// A message that does not decode or is invalid.
    Malformed,
    /// A message with an invalid signature.
    BadSignature,
    /// A frame or message above the size limit.
    Oversized,
    /// A peer of another chain: banned at once.
    WrongChain,
    /// Too many or useless messages.
    Spam,
}

impl Misbehaviour {
    /// Points subtracted from the peer's score. `WrongChain` bans regardless of the score.
    #[must_use]
    pub fn penalty(self) -> i64 {
        match self {
            Misbehaviour::Malformed => 50,
            Misbehaviour::BadSignature | Misbehaviour::Oversized => 100,
            Misbehaviour::WrongChain => i64::from(u32::MAX),
            Misbehaviour::Spam => 20,
        }
    }
}

/// Why an outbound request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestFailure {
    /// The peer could not be dialed (unknown address, unreachable, or it refused us).
    #[error("could not dial the peer")]
    DialFailure,
    /// No response within the request timeout.
    #[error("timed out")]
    Timeout,
    /// The connection closed before the response arrived.
    #[error("connection closed before the response")]
    ConnectionClosed,
    /// The peer does not speak our request protocol (e.g. another chain).
    #[error("peer does not support the request protocol")]
    UnsupportedProtocols,
    /// The peer is banned.
    #[error("peer is banned")]
    Banned,
    /// The request was addressed to ourselves.
    #[error("request to the local peer")]
    LocalPeer,
    /// A stream error, e.g. the peer refused our frame or sent an oversized or truncated one.
    #[error("stream error: {0}")]
    Io(String),
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    /// The configuration is unusable.
    #[error("invalid p2p configuration: {0}")]
    Config(String),
    /// A bootstrap address does not end in `/p2p/<peer id>`.
    #[error("bootstrap address {0} does not end in /p2p/<peer id>")]
    InvalidBootstrap(Multiaddr),
    /// [`spawn`] was called outside a tokio runtime.
    #[error("p2p must be started inside a tokio runtime")]
    NoRuntime,
    /// Building the transport or behaviours failed.
    #[error("building the libp2p swarm failed: {0}")]
    Build(String),
    /// Listening on an address failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// A payload is above `max_message_bytes`.
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A request failed.
    #[error("request to {peer} failed: {reason}")]
    Request {
        /// The peer asked.
        peer: PeerId,
        /// Why it failed.
        reason: RequestFailure,
    },
    /// The network task has stopped.
    #[error("the p2p task has stopped")]
    Shutdown,
}

/// Commands from handles to the swarm task.
pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
    },
    Send {
        peer: PeerId,
        data: Vec<u8>,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, P2pError>>,
    },
    Respond {
        channel: ResponseChannel,
        data: Vec<u8>,
    },
    Verdict {
        id: GossipId,
        propagation_source: PeerId,
        verdict: Verdict,
    },
    Report {
        peer: PeerId,
        what: Misbehaviour,
    },
    ConnectedPeers(oneshot::Sender<Vec<PeerId>>),
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Shutdown,
}

/// Handle to the network task. Cheap to clone; the task stops when every clone is dropped.
///
/// Commands go over an unbounded channel: the sync methods never block or fail, and a command sent
/// after the task stopped is silently dropped (the async methods then return
/// [`P2pError::Shutdown`] or an empty list).
#[derive(Clone)]
pub struct P2pHandle {
    local_peer_id: PeerId,
    commands: mpsc::UnboundedSender<Command>,
    request_timeout: Duration,
    max_message_bytes: usize,
}

impl fmt::Debug for P2pHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P2pHandle")
            .field("local_peer_id", &self.local_peer_id)
            .finish()
    }
}

impl P2pHandle {
    fn command(&self, command: Command) {
        // An error means the task stopped; the command has nowhere to go.
        if self.commands.send(command).is_err() {
            tracing::debug!("p2p task stopped; command dropped");
        }
    }

    /// This node's peer id.
    #[must_use]
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Publishes to a topic (errors such as "no peers yet" or an oversized payload are logged,
    /// not returned).
    pub fn publish(&self, topic: Topic, data: Vec<u8>) {
        self.command(Command::Publish { topic, data });
    }

    /// Fire-and-forget request to `peer` (dials it if needed; the response, an ack, is ignored and
    /// a failure is only logged).
    pub fn send(&self, peer: PeerId, data: Vec<u8>) {
        self.command(Command::Send { peer, data });
    }

    /// Sends a request and waits for its response, at most [`P2pConfig::request_timeout`]
    /// (dialing included).
    ///
    /// # Errors
    /// [`P2pError::TooLarge`] if `data` is above `max_message_bytes`; [`P2pError::Request`] if the
    /// peer cannot be reached, is banned, refuses or drops the request, or does not answer in time;
    /// [`P2pError::Shutdown`] if the task has stopped.
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, P2pError> {
        if data.len() > self.max_message_bytes {
            return Err(P2pError::TooLarge {
                len: data.len(),
                max: self.max_message_bytes,
            });
        }
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::Request { peer, data, reply })
            .map_err(|_| P2pError::Shutdown)?;
        match tokio::time::timeout(self.request_timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(P2pError::Shutdown),
            Err(_) => Err(P2pError::Request {
                peer,
                reason: RequestFailure::Timeout,
            }),
        }
    }

    /// Answers an inbound request (a response above `max_message_bytes` is not sent: it is
    /// logged and the requester gets an error).
    pub fn respond(&self, channel: ResponseChannel, data: Vec<u8>) {
        self.command(Command::Respond { channel, data });
    }

    /// Gives the verdict on a gossip message: `Accept` forwards it, `Ignore` drops it, `Reject`
    /// drops it and reports `propagation_source` as [`Misbehaviour::Malformed`].
    pub fn gossip_verdict(&self, id: GossipId, propagation_source: PeerId, verdict: Verdict) {
        self.command(Command::Verdict {
            id,
            propagation_source,
            verdict,
        });
    }

    /// Scores the peer down; at or below [`BAN_THRESHOLD`] (or at once for `WrongChain`):
    /// disconnects and bans it for [`P2pConfig::ban_duration`].
    pub fn report(&self, peer: PeerId, what: Misbehaviour) {
        self.command(Command::Report { peer, what });
    }

    /// The connected peers whose chain is confirmed (empty if the task has stopped).
    pub async fn connected_peers(&self) -> Vec<PeerId> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::ConnectedPeers(tx));
        rx.await.unwrap_or_default()
    }

    /// The live listen addresses (empty if the task has stopped).
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::ListenAddrs(tx));
        rx.await.unwrap_or_default()
    }

    /// Stops the swarm task (also when every handle is dropped).
    pub fn shutdown(&self) {
        self.command(Command::Shutdown);
    }
}

/// Starts the swarm on the current tokio runtime: listens, dials the bootstrap peers, and returns
/// the handle and the event receiver (capacity [`EVENT_CHANNEL_CAPACITY`]).
///
/// # Errors
/// [`P2pError::Config`] for a zero `discovery_interval`, a zero or above-`u32::MAX`
/// `max_message_bytes`; [`P2pError::InvalidBootstrap`]; [`P2pError::NoRuntime`] outside tokio;
/// [`P2pError::Build`] / [`P2pError::Listen`] if libp2p refuses.
pub fn spawn(config: P2pConfig) -> Result<(P2pHandle, mpsc::Receiver<P2pEvent>), P2pError> {
    swarm::spawn(&config)
}

/// The peer id of an Ed25519 seed (same derivation as ledger's genesis peer ids:
/// `maat_ledger::genesis::peer_id_from_ed25519` on the public key).
#[must_use]
pub fn peer_id_from_seed(seed: &[u8; 32]) -> PeerId {
    keypair_from_seed(seed).public().to_peer_id()
}

pub(crate) fn keypair_from_seed(seed: &[u8; 32]) -> Keypair {
    let mut bytes = *seed;
    // Any 32 bytes are a valid Ed25519 secret key; only a wrong length can fail.
    Keypair::ed25519_from_bytes(&mut bytes).expect("32 bytes are a valid Ed25519 seed")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_is_identity_multihash_of_protobuf_key() {
        // Same layout as maat_ledger::genesis::peer_id_from_ed25519.
        let seed = [7u8; 32];
        let public = keypair_from_seed(&seed)
            .public()
            .try_into_ed25519()
            .unwrap()
            .to_bytes();
        let mut mh = vec![0x00, 36, 0x08, 0x01, 0x12, 0x20];
        mh.extend_from_slice(&public);
        assert_eq!(peer_id_from_seed(&seed), PeerId::from_bytes(&mh).unwrap());
    }

    #[test]
    fn topic_names() {
        let chain = [0xabu8; 32];
        let hex64 = "ab".repeat(32);
        assert_eq!(
            Topic::Transactions.name(&chain),
            format!("/maat/{hex64}/tx/1")
        );
        assert_eq!(
            Topic::Proposals.name(&chain),
            format!("/maat/{hex64}/proposal/1")
        );
        assert_eq!(
            Topic::Checkpoints.name(&chain),
            format!("/maat/{hex64}/checkpoint/1")
        );
    }
}
