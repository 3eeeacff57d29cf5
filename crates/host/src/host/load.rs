//! The host's load: how long its ticks take, read from the times its caller gives it, and
//! what follows from that. While ticks run long the host is busy: it refuses new client
//! transactions at once (before checking their signatures), its consensus timeouts stretch
//! by the delay, and its resends draw on a budget. It still takes the copies of transactions
//! its peers admitted: without them, it could not propose them when its turn comes, and a
//! round without a proposal costs everyone a timeout. Ticks that
//! run long make every round slower, so that without this a burst of load turns into rounds
//! that time out, more messages, and longer ticks still.

use crate::config::Limits;

/// What is busy when a client's transaction is refused because the host's ticks run late.
pub const HOST_BUSY: &str = "this host (its ticks run late)";

/// The weight of the newest tick in the smoothed tick duration, as 1 / this.
const SMOOTHING: u64 = 4;
/// Consensus timeouts stretch by this many smoothed tick durations: a round's messages take
/// a few ticks to go round.
const STRETCH_TICKS: u64 = 4;

#[derive(Debug, Default)]
pub(super) struct Load {
    /// The start of the tick before this one.
    last_tick_ms: Option<u64>,
    /// Whether the tick before this one had work (messages or blocks).
    last_worked: bool,
    /// The smoothed time a tick with work takes, beyond the pace between ticks.
    tick_ms: u64,
    /// Resends this host may still make (a token bucket).
    resends: u64,
}

impl Load {
    /// Updates the load at the start of a tick at `now_ms`; `pace_ms` is the pause the host
    /// asks for between ticks with work.
    pub(super) fn start_tick(&mut self, now_ms: u64, pace_ms: u64, limits: &Limits) {
        let elapsed = self
            .last_tick_ms
            .map_or(0, |last| now_ms.saturating_sub(last));
        self.last_tick_ms = Some(now_ms);
        if self.last_worked {
            let took = elapsed.saturating_sub(pace_ms);
            self.tick_ms = (self.tick_ms * (SMOOTHING - 1) + took) / SMOOTHING;
        } else {
            self.tick_ms = 0;
        }
        let refill = elapsed.saturating_mul(limits.resends_per_second) / 1000;
        self.resends = self
            .resends
            .saturating_add(refill)
            .min(limits.resends_per_second);
    }

    pub(super) fn end_tick(&mut self, worked: bool) {
        self.last_worked = worked;
    }

    /// The smoothed duration of a tick with work, in milliseconds.
    pub(super) fn tick_ms(&self) -> u64 {
        self.tick_ms
    }

    /// Whether the host is too far behind to take new work from clients.
    pub(super) fn is_busy(&self, limits: &Limits) -> bool {
        self.tick_ms > limits.busy_tick_ms
    }

    /// How much later a consensus timeout fires than asked: long ticks delay everyone's
    /// messages, and a round cut short only adds work.
    pub(super) fn stretch_ms(&self) -> u64 {
        self.tick_ms.saturating_mul(STRETCH_TICKS)
    }

    /// Takes one resend from the budget; `false` when it is spent.
    pub(super) fn take_resend(&mut self) -> bool {
        let granted = self.resends > 0;
        self.resends = self.resends.saturating_sub(1);
        granted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ticks_make_the_host_busy_and_short_ones_free_it() {
        let limits = Limits::default();
        let mut load = Load::default();
        let mut now = 0;
        // Ticks with work that each take 400 ms beyond a 5 ms pace.
        for _ in 0..8 {
            load.start_tick(now, 5, &limits);
            load.end_tick(true);
            now += 405;
        }
        assert!(load.is_busy(&limits), "smoothed tick {} ms", load.tick_ms());
        assert!(load.stretch_ms() >= 4 * limits.busy_tick_ms);
        // Quick ticks bring it back.
        for _ in 0..16 {
            load.start_tick(now, 5, &limits);
            load.end_tick(true);
            now += 6;
        }
        assert!(
            !load.is_busy(&limits),
            "smoothed tick {} ms",
            load.tick_ms()
        );
        // An idle pause is not a long tick.
        load.end_tick(false);
        load.start_tick(now + 60_000, 5, &limits);
        assert_eq!(load.tick_ms(), 0);
    }

    #[test]
    fn resends_are_granted_at_the_budgeted_rate() {
        let limits = Limits {
            resends_per_second: 100,
            ..Limits::default()
        };
        let mut load = Load::default();
        load.start_tick(0, 5, &limits);
        load.start_tick(1000, 5, &limits);
        let granted = (0..1000).filter(|_| load.take_resend()).count();
        assert_eq!(granted, 100);
        // Half a second refills half the budget; a long pause no more than the whole.
        load.start_tick(1500, 5, &limits);
        assert_eq!((0..1000).filter(|_| load.take_resend()).count(), 50);
        load.start_tick(100_000, 5, &limits);
        assert_eq!((0..1000).filter(|_| load.take_resend()).count(), 100);
    }
}
