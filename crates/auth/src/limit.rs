//! A token bucket per principal, so that a flood from one credential cannot starve the others.
//! Pure: the time is an argument.

use std::collections::HashMap;

/// How many requests a principal may make: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for Rate {
    /// Generous enough for a CI fleet behind one token (and a batch of events counts once),
    /// tight enough that one runaway client leaves the server room for the rest: a single
    /// writer on this class of machine acknowledges a few thousand requests a second.
    fn default() -> Rate {
        Rate { per_second: 1000.0, burst: 2000.0 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// The buckets of every principal seen recently (at most `capacity` are kept; the fullest —
/// those idle longest — are forgotten first, which forgives nobody in the middle of a flood).
#[derive(Debug)]
pub struct Limiter {
    rate: Rate,
    buckets: HashMap<String, Bucket>,
    capacity: usize,
}

impl Limiter {
    pub fn new(rate: Rate) -> Limiter {
        Limiter { rate, buckets: HashMap::new(), capacity: 100_000 }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes one request for `principal` at `now` (nanoseconds): `Ok` or `Err(wait)` with the
    /// seconds until one more is allowed (for `Retry-After`).
    pub fn take(&mut self, principal: &str, now: i64) -> Result<(), u64> {
        let rate = self.rate;
        if self.buckets.len() >= self.capacity && !self.buckets.contains_key(principal) {
            self.forget_idle(now);
        }
        let bucket = self.buckets.entry(principal.to_owned()).or_insert(Bucket { tokens: rate.burst, at: now });
        let elapsed = (now - bucket.at).max(0) as f64 / 1e9;
        bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
        bucket.at = now.max(bucket.at);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }

    fn forget_idle(&mut self, now: i64) {
        let rate = self.rate;
        // Anyone whose bucket has refilled is indistinguishable from someone new.
        self.buckets.retain(|_, b| b.tokens + (now - b.at).max(0) as f64 / 1e9 * rate.per_second < rate.burst);
        if self.buckets.len() >= self.capacity {
            self.buckets.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn a_burst_is_allowed_then_the_rate_and_others_are_not_held_back() {
        let mut l = Limiter::new(Rate { per_second: 2.0, burst: 3.0 });
        for _ in 0..3 {
            assert_eq!(l.take("flood", 0), Ok(()));
        }
        assert_eq!(l.take("flood", 0), Err(1));
        assert_eq!(l.take("quiet", 0), Ok(()), "another principal has its own bucket");
        assert_eq!(l.take("flood", S / 2), Ok(()), "half a second refills one at 2/s");
        assert_eq!(l.take("flood", S / 2), Err(1));
        assert_eq!(l.take("flood", 10 * S), Ok(()));
    }

    #[test]
    fn a_slow_rate_says_how_long_to_wait() {
        let mut l = Limiter::new(Rate { per_second: 0.1, burst: 1.0 });
        assert_eq!(l.take("p", 0), Ok(()));
        assert_eq!(l.take("p", 0), Err(10));
    }
}
