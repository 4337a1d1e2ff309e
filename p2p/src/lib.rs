//! `maat-p2p`: libp2p transport, discovery, gossip and request-response (issue 5).
