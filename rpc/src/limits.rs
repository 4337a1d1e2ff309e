//! [`RpcLimits`] (what both servers enforce) and the per-client token bucket behind the rate
//! limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest request body by default: a maximal transaction (about 1.06 MiB) is twice that in
/// hex, plus the envelope.
pub const MAX_REQUEST_BODY_BYTES: u32 = 4 << 20;
/// Largest response body by default: a maximal block (8 MiB) is twice that in hex, plus its
/// transaction ids.
pub const MAX_RESPONSE_BODY_BYTES: u32 = 20 << 20;

/// The limits of a server ([`crate::RpcServer`], [`crate::GrpcServer`]); each server applies
/// its own (they share no counters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Largest request: a JSON-RPC HTTP body or WebSocket message, a gRPC message. Larger:
    /// JSON-RPC -32007 (HTTP 413), gRPC `OUT_OF_RANGE`.
    pub max_request_bytes: u32,
    /// Largest response: a JSON-RPC response or gRPC message. Larger: JSON-RPC -32008, gRPC
    /// `OUT_OF_RANGE`.
    pub max_response_bytes: u32,
    /// Open TCP connections at once; more are answered HTTP 429 (JSON-RPC) or closed at once
    /// (gRPC).
    pub max_connections: u32,
    /// Requests per second each client (remote IP address) may send on average (token bucket
    /// refill rate); 0 disables the rate limit. JSON-RPC batch entries count one each.
    pub rate_per_sec: u32,
    /// How many requests a client may send at once (the bucket's size).
    pub burst: u32,
    /// How long one request may run; longer: JSON-RPC -32003, gRPC `DEADLINE_EXCEEDED`.
    /// Subscriptions are not limited once established.
    pub request_timeout: Duration,
}

impl Default for RpcLimits {
    /// 4 MiB requests, 20 MiB responses, 256 connections, 200 requests/s with bursts of 400
    /// per client, 30 s per request.
    fn default() -> Self {
        RpcLimits {
            max_request_bytes: MAX_REQUEST_BODY_BYTES,
            max_response_bytes: MAX_RESPONSE_BODY_BYTES,
            max_connections: 256,
            rate_per_sec: 200,
            burst: 400,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Past this many tracked clients, full (idle) buckets are dropped.
const MAX_TRACKED: usize = 4096;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One token bucket per remote IP address.
pub(crate) struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(limits: &RpcLimits) -> RateLimiter {
        RateLimiter {
            rate: f64::from(limits.rate_per_sec),
            burst: f64::from(limits.burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes `n` tokens from `ip`'s bucket; `false` (and nothing taken) when it has fewer.
    pub(crate) fn try_acquire(&self, ip: IpAddr, n: u32) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let ip = ip.to_canonical();
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let (rate, burst) = (self.rate, self.burst);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(ip).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        let n = f64::from(n);
        if bucket.tokens >= n {
            bucket.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refuses_then_refills() {
        let a: IpAddr = "127.0.0.1".parse().expect("ip");
        let b: IpAddr = "127.0.0.2".parse().expect("ip");
        // 1 token/s: no refill worth a token during the test.
        let slow = RateLimiter::new(&RpcLimits {
            rate_per_sec: 1,
            burst: 3,
            ..RpcLimits::default()
        });
        assert!((0..3).all(|_| slow.try_acquire(a, 1)));
        assert!(!slow.try_acquire(a, 1), "the burst is spent");
        assert!(slow.try_acquire(b, 3), "buckets are per address");
        assert!(
            !slow.try_acquire("::1".parse().expect("ip"), 4),
            "more than the burst"
        );
        // IPv4-mapped IPv6 is the same client as IPv4.
        assert!(!slow.try_acquire("::ffff:127.0.0.1".parse().expect("ip"), 1));

        let fast = RateLimiter::new(&RpcLimits {
            rate_per_sec: 1000,
            burst: 3,
            ..RpcLimits::default()
        });
        assert!(fast.try_acquire(a, 3));
        std::thread::sleep(Duration::from_millis(10));
        assert!(fast.try_acquire(a, 3), "refilled at 1000/s");

        let off = RateLimiter::new(&RpcLimits {
            rate_per_sec: 0,
            ..RpcLimits::default()
        });
        assert!((0..1000).all(|_| off.try_acquire(a, 1)));
    }
}
