//! The swarm task: owns the libp2p `Swarm`, executes handle commands, turns swarm events into
//! [`P2pEvent`]s, and runs discovery, the keep-connected set, scoring and bans.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::Duration,
};

use futures::StreamExt;
use libp2p::{
    StreamProtocol, Swarm, SwarmBuilder, allow_block_list, connection_limits, gossipsub, identify,
    kad,
    multiaddr::Protocol,
    noise, request_response,
    swarm::{
        NetworkBehaviour, SwarmEvent,
        dial_opts::{DialOpts, PeerCondition},
    },
    tcp, yamux,
};
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, MissedTickBehavior},
};

use crate::{
    BAN_THRESHOLD, Command, EVENT_CHANNEL_CAPACITY, GOSSIP_ENVELOPE_OVERHEAD, GossipId,
    IDLE_CONNECTION_TIMEOUT, Misbehaviour, Multiaddr, P2pConfig, P2pError, P2pEvent, P2pHandle,
    PeerId, RequestFailure, ResponseChannel, SCORE_RECOVERY, Topic, Verdict,
    codec::{FrameCodec, RequestFrame, is_frame_too_large},
    hex, keypair_from_seed,
};

/// First redial delay of a keep-connected peer; doubles on every attempt up to
/// [`REDIAL_MAX`] and resets once the peer is confirmed.
const REDIAL_INITIAL: Duration = Duration::from_millis(500);
const REDIAL_MAX: Duration = Duration::from_secs(30);
/// Period of the housekeeping tick (due redials, expired bans, empty routing table).
const TICK: Duration = Duration::from_millis(250);
/// Addresses remembered per peer: enough for a few interfaces, bounded against junk.
const MAX_ADDRS_PER_PEER: usize = 8;
/// Connection events kept while the event channel is full; beyond that they are dropped.
const MAX_QUEUED_EVENTS: usize = 65_536;
/// Inbound requests held per peer until its identify confirms the chain.
const MAX_HELD_REQUESTS: usize = 16;
/// Bytes of requests held for all unconfirmed peers together (at least one maximal message).
const MAX_HELD_BYTES: usize = 16 * 1024 * 1024;
/// A connected peer whose identify has not confirmed our chain by then is disconnected: it is
/// not a Maat node of this chain, and it holds a connection slot.
const CONFIRM_DEADLINE: Duration = Duration::from_secs(20);

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First, so a banned peer's connection is denied before other behaviours see it.
    block: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    kad: kad::Behaviour<kad::store::MemoryStore>,
    gossipsub: gossipsub::Behaviour,
    rr: request_response::Behaviour<FrameCodec>,
}

type Reply = oneshot::Sender<Result<Vec<u8>, P2pError>>;

struct Redial {
    at: Instant,
    backoff: Duration,
}

struct Task {
    swarm: Swarm<Behaviour>,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<P2pEvent>,
    /// Connection events waiting for room in the event channel (gossip and requests are dropped
    /// instead, so this only holds a few events per connection).
    queued: VecDeque<P2pEvent>,
    local: PeerId,
    identify_version: String,
    kad_protocol: StreamProtocol,
    topics: [(Topic, gossipsub::TopicHash); 3],
    max_message_bytes: usize,
    ban_duration: Duration,
    discovery_interval: Duration,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    keep: HashSet<PeerId>,
    /// Known dial addresses of keep-connected and bootstrap peers.
    addrs: HashMap<PeerId, Vec<Multiaddr>>,
    redial: HashMap<PeerId, Redial>,
    /// Peers with at least one connection whose identify confirmed our chain.
    confirmed: HashSet<PeerId>,
    /// Inbound requests of connected peers whose chain is not confirmed yet: the request protocol
    /// name only carries a prefix of the chain hash, so they wait for identify.
    held_requests: HashMap<PeerId, Vec<P2pEvent>>,
    held_bytes: usize,
    /// Connected peers not confirmed yet, with their first connection time.
    unconfirmed: HashMap<PeerId, Instant>,
    scores: HashMap<PeerId, i64>,
    banned: HashMap<PeerId, Instant>,
    /// Outbound requests: `Some` waits for the response, `None` is a fire-and-forget `send`.
    pending: HashMap<request_response::OutboundRequestId, (PeerId, Option<Reply>)>,
    listen_addrs: Vec<Multiaddr>,
    next_rebootstrap: Instant,
}

fn split_bootstrap(addr: &Multiaddr) -> Result<(PeerId, Multiaddr), P2pError> {
    let mut transport = addr.clone();
    match transport.pop() {
        Some(Protocol::P2p(peer)) => Ok((peer, transport)),
        _ => Err(P2pError::InvalidBootstrap(addr.clone())),
    }
}

pub(crate) fn spawn(config: &P2pConfig) -> Result<(P2pHandle, mpsc::Receiver<P2pEvent>), P2pError> {
    if config.discovery_interval.is_zero() {
        return Err(P2pError::Config(
            "discovery_interval must not be zero".into(),
        ));
    }
    if config.max_message_bytes == 0 || u32::try_from(config.max_message_bytes).is_err() {
        return Err(P2pError::Config(
            "max_message_bytes must be in 1..=u32::MAX".into(),
        ));
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| P2pError::NoRuntime)?;
    let bootstrap = config
        .bootstrap
        .iter()
        .map(split_bootstrap)
        .collect::<Result<Vec<_>, _>>()?;

    let chain = hex(&config.chain_hash);
    let identify_version = format!("maat/{chain}");
    let kad_protocol = StreamProtocol::try_from_owned(format!("/maat/{chain}/kad/1"))
        .map_err(|e| P2pError::Build(e.to_string()))?;
    let rr_protocol = StreamProtocol::try_from_owned(format!("/maat/{}/rr/1", &chain[..16]))
        .map_err(|e| P2pError::Build(e.to_string()))?;
    let topic_tx = gossipsub::IdentTopic::new(Topic::Transactions.name(&config.chain_hash));
    let topic_proposal = gossipsub::IdentTopic::new(Topic::Proposals.name(&config.chain_hash));
    let topic_checkpoint = gossipsub::IdentTopic::new(Topic::Checkpoints.name(&config.chain_hash));

    let keypair = keypair_from_seed(&config.key_seed);
    let local = keypair.public().to_peer_id();
    let max = config.max_message_bytes;

    let mut swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| P2pError::Build(e.to_string()))?
        .with_behaviour(
            |key| -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
                let identify = identify::Behaviour::new(
                    identify::Config::new(identify_version.clone(), key.public())
                        .with_agent_version(format!("maat/{}", env!("CARGO_PKG_VERSION"))),
                );

                let mut kad_config = kad::Config::new(kad_protocol.clone());
                kad_config
                    .set_periodic_bootstrap_interval(Some(config.discovery_interval))
                    // We use the DHT for peer routing only: remote records are never stored, so
                    // peers cannot fill our memory with them.
                    .set_record_filtering(kad::StoreInserts::FilterBoth)
                    .set_query_timeout(Duration::from_secs(30));
                let mut kad = kad::Behaviour::with_config(
                    local,
                    kad::store::MemoryStore::new(local),
                    kad_config,
                );
                // Loopback/private addresses are never "confirmed external", so automatic mode
                // detection would leave us a client that others cannot query.
                kad.set_mode(Some(kad::Mode::Server));

                let gossip_config = gossipsub::ConfigBuilder::default()
                    .max_transmit_size(max.saturating_add(GOSSIP_ENVELOPE_OVERHEAD))
                    .validation_mode(gossipsub::ValidationMode::Strict)
                    .validate_messages()
                    .flood_publish(true)
                    // Form the mesh quickly after start instead of the default 5 s.
                    .heartbeat_initial_delay(Duration::from_millis(200))
                    .build()?;
                let gossipsub = gossipsub::Behaviour::new(
                    gossipsub::MessageAuthenticity::Signed(key.clone()),
                    gossip_config,
                )?;

                let rr = request_response::Behaviour::with_codec(
                    FrameCodec { max },
                    [(rr_protocol.clone(), request_response::ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(config.request_timeout),
                );

                let limits = connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        // Simultaneous dials between two validators can open two connections.
                        .with_max_established_per_peer(Some(3))
                        .with_max_pending_incoming(Some(128))
                        .with_max_established_incoming(Some(512)),
                );

                Ok(Behaviour {
                    block: allow_block_list::Behaviour::default(),
                    limits,
                    identify,
                    kad,
                    gossipsub,
                    rr,
                })
            },
        )
        .map_err(|e| P2pError::Build(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();

    for topic in [&topic_tx, &topic_proposal, &topic_checkpoint] {
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(topic)
            .map_err(|e| P2pError::Build(format!("subscribing to {topic}: {e}")))?;
    }
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| P2pError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
    }

    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let mut task = Task {
        swarm,
        commands: cmd_rx,
        events: ev_tx,
        queued: VecDeque::new(),
        local,
        identify_version,
        kad_protocol,
        topics: [
            (Topic::Transactions, topic_tx.hash()),
            (Topic::Proposals, topic_proposal.hash()),
            (Topic::Checkpoints, topic_checkpoint.hash()),
        ],
        max_message_bytes: max,
        ban_duration: config.ban_duration,
        discovery_interval: config.discovery_interval,
        bootstrap,
        keep: config
            .keep_connected
            .iter()
            .copied()
            .filter(|p| *p != local)
            .collect(),
        addrs: HashMap::new(),
        redial: HashMap::new(),
        confirmed: HashSet::new(),
        held_requests: HashMap::new(),
        held_bytes: 0,
        unconfirmed: HashMap::new(),
        scores: HashMap::new(),
        banned: HashMap::new(),
        pending: HashMap::new(),
        listen_addrs: Vec::new(),
        next_rebootstrap: Instant::now(),
    };
    task.seed_bootstrap();

    tracing::info!(peer = %local, chain = %chain, "p2p started");
    runtime.spawn(task.run());
    let handle = P2pHandle {
        local_peer_id: local,
        commands: cmd_tx,
        request_timeout: config.request_timeout,
        max_message_bytes: max,
    };
    Ok((handle, ev_rx))
}

impl Task {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut discovery = tokio::time::interval(self.discovery_interval);
        discovery.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut recovery = tokio::time::interval(Duration::from_mins(1));
        recovery.set_missed_tick_behavior(MissedTickBehavior::Skip);

        // A second sender, so that a pending permit does not borrow `self`.
        let events = self.events.clone();
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(command) => self.on_command(command),
                },
                permit = events.reserve(), if !self.queued.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.queued.pop_front() {
                            permit.send(event);
                        }
                    }
                    // Nobody listens any more: keep serving the handles, drop the events.
                    Err(_) => self.queued.clear(),
                },
                _ = tick.tick() => self.housekeeping(),
                _ = discovery.tick() => self.discover(),
                _ = recovery.tick() => self.recover_scores(),
            }
        }
        tracing::info!(peer = %self.local, "p2p stopped");
    }

    // ---- events out ----------------------------------------------------------------------

    /// Delivers an event without ever blocking the swarm. Returns it back if it was dropped.
    fn emit(&mut self, event: P2pEvent) -> Option<P2pEvent> {
        if self.queued.is_empty() {
            match self.events.try_send(event) {
                Ok(()) => return None,
                Err(mpsc::error::TrySendError::Closed(back)) => return Some(back),
                Err(mpsc::error::TrySendError::Full(back)) => return self.queue(back),
            }
        }
        self.queue(event)
    }

    fn queue(&mut self, event: P2pEvent) -> Option<P2pEvent> {
        // Gossip and requests can be dropped (gossip is re-sent, a requester retries); connection
        // state changes cannot, or the node's view of its peers goes wrong.
        let droppable = matches!(event, P2pEvent::Gossip { .. } | P2pEvent::Request { .. });
        if droppable || self.queued.len() >= MAX_QUEUED_EVENTS {
            tracing::warn!(
                event = event_kind(&event),
                "p2p event channel full; event dropped"
            );
            return Some(event);
        }
        self.queued.push_back(event);
        None
    }

    // ---- commands --------------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Publish { topic, data } => self.publish(topic, data),
            Command::Send { peer, data } => {
                if let Err(reason) = self.check_request(peer, data.len()) {
                    tracing::debug!(%peer, %reason, "send dropped");
                    return;
                }
                let id = self.send_request(peer, data);
                self.pending.insert(id, (peer, None));
            }
            Command::Request { peer, data, reply } => {
                if let Err(reason) = self.check_request(peer, data.len()) {
                    let _ = reply.send(Err(reason));
                    return;
                }
                let id = self.send_request(peer, data);
                self.pending.insert(id, (peer, Some(reply)));
            }
            Command::Respond { channel, data } => {
                if data.len() > self.max_message_bytes {
                    tracing::warn!(
                        len = data.len(),
                        max = self.max_message_bytes,
                        "response too large; not sent"
                    );
                    return;
                }
                if self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel.0, data)
                    .is_err()
                {
                    tracing::debug!(
                        "response dropped: the request timed out or its connection closed"
                    );
                }
            }
            Command::Verdict {
                id,
                propagation_source,
                verdict,
            } => {
                let acceptance = match verdict {
                    Verdict::Accept => gossipsub::MessageAcceptance::Accept,
                    Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
                    Verdict::Reject => gossipsub::MessageAcceptance::Reject,
                };
                let known = self.gossip_verdict(&id.0, &propagation_source, acceptance);
                if !known {
                    tracing::trace!(id = %id, "verdict on a message no longer cached");
                }
                if verdict == Verdict::Reject {
                    self.report(propagation_source, Misbehaviour::Malformed);
                }
            }
            Command::Report { peer, what } => self.report(peer, what),
            Command::ConnectedPeers(reply) => {
                let _ = reply.send(self.confirmed.iter().copied().collect());
            }
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.listen_addrs.clone());
            }
            // Handled by the loop.
            Command::Shutdown => {}
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) {
        if data.len() > self.max_message_bytes {
            tracing::warn!(
                ?topic,
                len = data.len(),
                max = self.max_message_bytes,
                "gossip too large; not published"
            );
            return;
        }
        let hash = self.topic_hash(topic);
        match self.swarm.behaviour_mut().gossipsub.publish(hash, data) {
            Ok(_) => {}
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                tracing::debug!(?topic, "publish: no peers subscribed yet");
            }
            Err(e) => tracing::warn!(?topic, error = %e, "publish failed"),
        }
    }

    fn check_request(&self, peer: PeerId, len: usize) -> Result<(), P2pError> {
        if len > self.max_message_bytes {
            return Err(P2pError::TooLarge {
                len,
                max: self.max_message_bytes,
            });
        }
        let reason = if peer == self.local {
            RequestFailure::LocalPeer
        } else if self.banned.contains_key(&peer) {
            RequestFailure::Banned
        } else {
            return Ok(());
        };
        Err(P2pError::Request { peer, reason })
    }

    fn send_request(&mut self, peer: PeerId, data: Vec<u8>) -> request_response::OutboundRequestId {
        let addrs = self.addrs.get(&peer).cloned().unwrap_or_default();
        self.swarm.behaviour_mut().rr.send_request_with_addresses(
            &peer,
            RequestFrame::Data(data),
            addrs,
        )
    }

    fn topic_hash(&self, topic: Topic) -> gossipsub::TopicHash {
        // Same order as `topics` is built in `spawn`.
        let index = match topic {
            Topic::Transactions => 0,
            Topic::Proposals => 1,
            Topic::Checkpoints => 2,
        };
        self.topics[index].1.clone()
    }

    // ---- scoring and bans ------------------------------------------------------------------

    /// Tells gossipsub whether to forward a message held for validation (and score its
    /// forwarder); false if the message is no longer in its cache.
    fn gossip_verdict(
        &mut self,
        id: &gossipsub::MessageId,
        propagation_source: &PeerId,
        acceptance: gossipsub::MessageAcceptance,
    ) -> bool {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(id, propagation_source, acceptance)
    }

    fn report(&mut self, peer: PeerId, what: Misbehaviour) {
        if peer == self.local || self.banned.contains_key(&peer) {
            return;
        }
        let score = self.scores.entry(peer).or_insert(0);
        *score = score.saturating_sub(what.penalty());
        let score = *score;
        tracing::info!(%peer, reason = ?what, score, "peer reported");
        if what == Misbehaviour::WrongChain || score <= BAN_THRESHOLD {
            self.ban(peer, what);
        }
    }

    fn ban(&mut self, peer: PeerId, reason: Misbehaviour) {
        let until = Instant::now() + self.ban_duration;
        self.banned.insert(peer, until);
        self.redial.remove(&peer);
        self.drop_held(peer);
        let behaviour = self.swarm.behaviour_mut();
        // Closes its connections now and denies new ones, inbound and outbound.
        behaviour.block.block_peer(peer);
        behaviour.kad.remove_peer(&peer);
        tracing::warn!(%peer, ?reason, ban_secs = self.ban_duration.as_secs(), "peer banned");
    }

    fn unban_expired(&mut self, now: Instant) {
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in expired {
            self.banned.remove(&peer);
            self.scores.remove(&peer);
            self.swarm.behaviour_mut().block.unblock_peer(peer);
            tracing::info!(%peer, "peer unbanned");
        }
    }

    fn recover_scores(&mut self) {
        self.scores.retain(|_, score| {
            *score = (*score + SCORE_RECOVERY).min(0);
            *score < 0
        });
    }

    // ---- discovery and keep-connected -------------------------------------------------------

    fn seed_bootstrap(&mut self) {
        for (peer, addr) in self.bootstrap.clone() {
            if peer == self.local || self.banned.contains_key(&peer) {
                continue;
            }
            self.remember_addrs(peer, std::iter::once(addr.clone()), true);
            self.swarm
                .behaviour_mut()
                .kad
                .add_address(&peer, addr.clone());
            if !self.swarm.is_connected(&peer) {
                let opts = DialOpts::peer_id(peer)
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .addresses(vec![addr])
                    .build();
                if let Err(e) = self.swarm.dial(opts) {
                    tracing::debug!(%peer, error = %e, "bootstrap dial not started");
                }
            }
        }
        if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
            tracing::debug!(error = %e, "kademlia bootstrap: no known peers");
        }
    }

    /// Remembers addresses of keep-connected and bootstrap peers (others are Kademlia's job).
    fn remember_addrs(&mut self, peer: PeerId, addrs: impl Iterator<Item = Multiaddr>, any: bool) {
        if !any && !self.keep.contains(&peer) {
            return;
        }
        let known = self.addrs.entry(peer).or_default();
        for addr in addrs {
            // Dial addresses must not carry a /p2p suffix of another peer.
            let addr = match addr.iter().last() {
                Some(Protocol::P2p(id)) if id == peer => {
                    let mut a = addr.clone();
                    a.pop();
                    a
                }
                Some(Protocol::P2p(_)) => continue,
                _ => addr,
            };
            if !known.contains(&addr) {
                if known.len() >= MAX_ADDRS_PER_PEER {
                    known.remove(0);
                }
                known.push(addr);
            }
        }
    }

    /// Dials a keep-connected peer unless it is connected, banned, addressless or backing off.
    fn try_dial(&mut self, peer: PeerId, now: Instant) {
        if peer == self.local
            || !self.keep.contains(&peer)
            || self.banned.contains_key(&peer)
            || self.swarm.is_connected(&peer)
        {
            return;
        }
        let Some(addrs) = self.addrs.get(&peer).filter(|a| !a.is_empty()).cloned() else {
            return;
        };
        let redial = self.redial.entry(peer).or_insert(Redial {
            at: now,
            backoff: REDIAL_INITIAL,
        });
        if redial.at > now {
            return;
        }
        redial.at = now + redial.backoff;
        redial.backoff = (redial.backoff * 2).min(REDIAL_MAX);
        let opts = DialOpts::peer_id(peer)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .addresses(addrs)
            .extend_addresses_through_behaviour()
            .build();
        match self.swarm.dial(opts) {
            Ok(()) => tracing::debug!(%peer, "dialing keep-connected peer"),
            Err(e) => tracing::debug!(%peer, error = %e, "keep-connected dial not started"),
        }
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        self.unban_expired(now);
        let keep: Vec<PeerId> = self.keep.iter().copied().collect();
        for peer in keep {
            self.try_dial(peer, now);
        }
        let stale: Vec<PeerId> = self
            .unconfirmed
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= CONFIRM_DEADLINE)
            .map(|(p, _)| *p)
            .collect();
        for peer in stale {
            tracing::info!(%peer, "peer did not confirm its chain in time; disconnecting");
            self.unconfirmed.remove(&peer);
            self.drop_held(peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        // Requests whose caller gave up (handle-side timeout) would otherwise wait for
        // libp2p's own timeout; forget them now.
        self.pending
            .retain(|_, (_, reply)| reply.as_ref().is_none_or(|r| !r.is_closed()));
        if now >= self.next_rebootstrap
            && self.routing_table_is_empty()
            && !self.bootstrap.is_empty()
        {
            // Throttled: once per discovery interval at most.
            self.next_rebootstrap = now + self.discovery_interval;
            tracing::debug!("routing table empty; re-bootstrapping");
            self.seed_bootstrap();
        }
    }

    fn routing_table_is_empty(&mut self) -> bool {
        self.swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .all(|bucket| bucket.num_entries() == 0)
    }

    fn discover(&mut self) {
        let missing: Vec<PeerId> = self
            .keep
            .iter()
            .filter(|p| !self.confirmed.contains(p) && !self.banned.contains_key(p))
            .copied()
            .collect();
        if missing.is_empty() {
            return;
        }
        tracing::debug!(
            missing = missing.len(),
            "looking up missing keep-connected peers"
        );
        if self.routing_table_is_empty() {
            self.next_rebootstrap = Instant::now();
            return;
        }
        for peer in missing {
            self.swarm.behaviour_mut().kad.get_closest_peers(peer);
        }
    }

    // ---- swarm events ------------------------------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                if !self.listen_addrs.contains(&address) {
                    self.listen_addrs.push(address.clone());
                }
                self.emit(P2pEvent::Listening(address));
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| *a != address);
            }
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => {
                tracing::warn!(?addresses, ?reason, "listener closed");
                self.listen_addrs.retain(|a| !addresses.contains(a));
            }
            SwarmEvent::ListenerError { error, .. } => {
                tracing::warn!(%error, "listener error");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                tracing::debug!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connection established");
                if !self.confirmed.contains(&peer_id) {
                    self.unconfirmed.entry(peer_id).or_insert_with(Instant::now);
                }
                if endpoint.is_dialer() {
                    let addr = endpoint.get_remote_address().clone();
                    self.remember_addrs(peer_id, std::iter::once(addr), false);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(peer = %peer_id, num_established, cause = ?cause, "connection closed");
                if num_established == 0 {
                    self.drop_held(peer_id);
                    self.unconfirmed.remove(&peer_id);
                    if self.confirmed.remove(&peer_id) {
                        tracing::info!(peer = %peer_id, "peer disconnected");
                        self.emit(P2pEvent::PeerDisconnected(peer_id));
                    }
                    // A validator that just went away is redialed at the next tick, then with
                    // growing backoff while it stays unreachable.
                    if self.keep.contains(&peer_id) && !self.banned.contains_key(&peer_id) {
                        self.redial.entry(peer_id).or_insert(Redial {
                            at: Instant::now(),
                            backoff: REDIAL_INITIAL,
                        });
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, %error, "outgoing connection failed");
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error,
                send_back_addr,
                ..
            } => {
                tracing::debug!(peer = ?peer_id, addr = %send_back_addr, %error, "incoming connection failed");
            }
            _ => {}
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Block(never) | BehaviourEvent::Limits(never) => match never {},
            BehaviourEvent::Identify(event) => self.on_identify(event),
            BehaviourEvent::Kad(event) => self.on_kad(event),
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Rr(event) => self.on_rr(event),
        }
    }

    /// Removes the requests held for `peer`, for delivery.
    fn take_held(&mut self, peer: PeerId) -> Vec<P2pEvent> {
        let held = self.held_requests.remove(&peer).unwrap_or_default();
        for event in &held {
            if let P2pEvent::Request { data, .. } = event {
                self.held_bytes = self.held_bytes.saturating_sub(data.len());
            }
        }
        held
    }

    /// Drops the requests held for `peer` (their requesters get an error).
    fn drop_held(&mut self, peer: PeerId) {
        drop(self.take_held(peer));
    }

    fn on_identify(&mut self, event: identify::Event) {
        let identify::Event::Received { peer_id, info, .. } = event else {
            if let identify::Event::Error { peer_id, error, .. } = event {
                tracing::debug!(peer = %peer_id, %error, "identify failed");
            }
            return;
        };
        if self.banned.contains_key(&peer_id) {
            return;
        }
        if info.public_key.to_peer_id() != peer_id {
            tracing::warn!(peer = %peer_id, "identify key does not match the peer id");
            self.report(peer_id, Misbehaviour::Malformed);
            return;
        }
        if info.protocol_version != self.identify_version {
            tracing::warn!(
                peer = %peer_id,
                theirs = %info.protocol_version,
                "peer is on another chain"
            );
            self.report(peer_id, Misbehaviour::WrongChain);
            return;
        }
        if info.protocols.contains(&self.kad_protocol) {
            for addr in info.listen_addrs.iter().take(MAX_ADDRS_PER_PEER) {
                self.swarm
                    .behaviour_mut()
                    .kad
                    .add_address(&peer_id, addr.clone());
            }
        }
        self.remember_addrs(
            peer_id,
            info.listen_addrs.into_iter().take(MAX_ADDRS_PER_PEER),
            false,
        );
        // Identify runs again on every connection and every few minutes: announce once.
        if self.swarm.is_connected(&peer_id) && self.confirmed.insert(peer_id) {
            self.unconfirmed.remove(&peer_id);
            self.redial.remove(&peer_id);
            tracing::info!(peer = %peer_id, agent = %info.agent_version, "peer connected");
            self.emit(P2pEvent::PeerConnected(peer_id));
            for request in self.take_held(peer_id) {
                self.emit(request);
            }
        }
    }

    fn on_kad(&mut self, event: kad::Event) {
        let now = Instant::now();
        match event {
            kad::Event::RoutingUpdated {
                peer,
                addresses,
                is_new_peer,
                ..
            } => {
                tracing::debug!(%peer, is_new_peer, "kademlia routing updated");
                self.remember_addrs(peer, addresses.iter().cloned(), false);
                self.try_dial(peer, now);
            }
            kad::Event::OutboundQueryProgressed { result, .. } => match result {
                kad::QueryResult::GetClosestPeers(result) => {
                    let peers = match result {
                        Ok(ok) => ok.peers,
                        Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                    };
                    for info in peers {
                        self.remember_addrs(info.peer_id, info.addrs.into_iter(), false);
                        self.try_dial(info.peer_id, now);
                    }
                }
                kad::QueryResult::Bootstrap(result) => {
                    tracing::trace!(?result, "kademlia bootstrap progressed");
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let Some(topic) = self
                    .topics
                    .iter()
                    .find(|(_, hash)| *hash == message.topic)
                    .map(|(t, _)| *t)
                else {
                    // Not one of ours (cannot happen while we subscribe to ours only): drop.
                    self.gossip_verdict(
                        &message_id,
                        &propagation_source,
                        gossipsub::MessageAcceptance::Ignore,
                    );
                    return;
                };
                if message.data.len() > self.max_message_bytes {
                    self.gossip_verdict(
                        &message_id,
                        &propagation_source,
                        gossipsub::MessageAcceptance::Reject,
                    );
                    self.report(propagation_source, Misbehaviour::Oversized);
                    return;
                }
                let event = P2pEvent::Gossip {
                    topic,
                    source: message.source,
                    propagation_source,
                    id: GossipId(message_id.clone()),
                    data: message.data,
                };
                if self.emit(event).is_some() {
                    // Not handed to the node: free it from gossipsub's cache, do not forward.
                    self.gossip_verdict(
                        &message_id,
                        &propagation_source,
                        gossipsub::MessageAcceptance::Ignore,
                    );
                }
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::debug!(peer = %peer_id, "peer does not support gossipsub");
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                tracing::debug!(peer = %peer_id, ?failed_messages, "slow gossip peer");
            }
            _ => {}
        }
    }

    fn on_rr(&mut self, event: request_response::Event<RequestFrame, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let request = match request {
                        RequestFrame::Data(data) => data,
                        RequestFrame::Oversized(too_large) => {
                            // Dropping the channel closes the stream: the requester gets an error.
                            tracing::warn!(%peer, len = too_large.len, max = too_large.max, "oversized request refused");
                            self.report(peer, Misbehaviour::Oversized);
                            return;
                        }
                    };
                    let len = request.len();
                    let event = P2pEvent::Request {
                        peer,
                        data: request,
                        channel: ResponseChannel(channel),
                    };
                    if self.confirmed.contains(&peer) {
                        // If dropped, the channel goes with it and the requester gets an error.
                        self.emit(event);
                    } else {
                        let budget = MAX_HELD_BYTES.max(self.max_message_bytes);
                        let held = self.held_requests.entry(peer).or_default();
                        if held.len() < MAX_HELD_REQUESTS && self.held_bytes + len <= budget {
                            held.push(event);
                            self.held_bytes += len;
                        } else {
                            tracing::debug!(%peer, "request from unconfirmed peer dropped");
                        }
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => match self.pending.remove(&request_id) {
                    Some((_, Some(reply))) => {
                        let _ = reply.send(Ok(response));
                    }
                    Some((_, None)) => tracing::trace!(%peer, "send acknowledged"),
                    None => {}
                },
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let reason = match error {
                    request_response::OutboundFailure::DialFailure => RequestFailure::DialFailure,
                    request_response::OutboundFailure::Timeout => RequestFailure::Timeout,
                    request_response::OutboundFailure::ConnectionClosed => {
                        RequestFailure::ConnectionClosed
                    }
                    request_response::OutboundFailure::UnsupportedProtocols => {
                        RequestFailure::UnsupportedProtocols
                    }
                    request_response::OutboundFailure::Io(e) => {
                        // Our own oversized request is refused before sending (checked above);
                        // an oversized *response* is the peer's fault.
                        if is_frame_too_large(&e) {
                            self.report(peer, Misbehaviour::Oversized);
                        }
                        RequestFailure::Io(e.to_string())
                    }
                };
                if let Some((_, Some(reply))) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(P2pError::Request { peer, reason }));
                } else {
                    tracing::debug!(%peer, %reason, "send failed");
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}

fn event_kind(event: &P2pEvent) -> &'static str {
    match event {
        P2pEvent::Gossip { .. } => "gossip",
        P2pEvent::Request { .. } => "request",
        P2pEvent::PeerConnected(_) => "peer_connected",
        P2pEvent::PeerDisconnected(_) => "peer_disconnected",
        P2pEvent::Listening(_) => "listening",
    }
}
