//! A step's transactions from their sending to their outcome: admission's answer to each one's
//! batch, then the commit (or rejection) a host's event stream tells of it.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use myriad_api_types::TxStatusBody;
use myriad_types::Hash;
use serde::Serialize;

/// The most transactions one step offers, and so the most in flight at once: the schedule,
/// signed, is held in memory (a few hundred bytes a transaction).
pub const STEP_TXS_MAX: usize = 1_000_000;
/// How long after it is due a transaction may take to commit; one that takes longer counts
/// as timed out. Twenty times the p99 target of a passing step.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a transaction sent did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Admission refused it as busy (503): the host's or chain's pool was full.
    Busy,
    /// Admission refused it otherwise (4xx: a nonce conflict, the sender's share full, …).
    Refused,
    /// Admitted, then dropped by the host (a nonce gap that expired).
    Rejected,
    /// Not committed within [`COMMIT_TIMEOUT`] of when it was due.
    TimedOut,
    /// Its batch got no answer (connection error, unreadable answer).
    Unanswered,
}

/// What became of one transaction of a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    InFlight,
    /// Committed this long after it was due.
    Committed(Duration),
    Failed(Failure),
}

/// The transactions not committed in a step, by reason.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Failures {
    /// Refused as busy (503).
    pub busy: u64,
    /// Refused at admission with another status (409, 422, …).
    pub refused: u64,
    /// Admitted, then rejected by the host.
    pub rejected: u64,
    pub timed_out: u64,
    /// Sent in a request that got no answer.
    pub unanswered: u64,
    /// Failed (for any of the reasons above) after an earlier transaction of its sender
    /// failed in the step: that left a nonce gap before it, which nothing would fill.
    pub behind_gap: u64,
    /// Not sent, the bench's own limit: every sender of the chain had as many transactions
    /// due within the planned finality as admission holds pending for one sender.
    pub senders_full: u64,
}

impl Failures {
    pub fn count(&mut self, failure: Failure) {
        let counter = match failure {
            Failure::Busy => &mut self.busy,
            Failure::Refused => &mut self.refused,
            Failure::Rejected => &mut self.rejected,
            Failure::TimedOut => &mut self.timed_out,
            Failure::Unanswered => &mut self.unanswered,
        };
        *counter += 1;
    }

    pub fn total(&self) -> u64 {
        self.busy
            + self.refused
            + self.rejected
            + self.timed_out
            + self.unanswered
            + self.behind_gap
            + self.senders_full
    }
}

/// The end a host's event `name` with `data` tells of a transaction, if it does: a `tx` event
/// with its hash, and whether it committed (or was rejected).
pub fn tx_end(name: &str, data: &str) -> Option<(Hash, bool)> {
    if name != "tx" {
        return None;
    }
    let body = serde_json::from_str::<TxStatusBody>(data).ok()?;
    let committed = match body.status.as_str() {
        "committed" => true,
        "rejected" => false,
        _ => return None,
    };
    Some((body.hash.parse().ok()?, committed))
}

/// The refusals of one HTTP status in a step (busy and other refusals alike, whatever their
/// cause), with the first one's message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub status: u16,
    pub count: u64,
    pub example: String,
}

/// What became of a step's transactions.
#[derive(Debug)]
pub struct Settled {
    /// Each transaction's outcome, by its index (those never sent stay in flight).
    pub outcomes: Vec<Outcome>,
    pub last_commit: Option<Instant>,
    /// Admission's refusals, by status.
    pub refusals: Vec<Refusal>,
}

/// One transaction sent and not yet committed or failed.
#[derive(Debug)]
struct InFlight {
    index: usize,
    due: Instant,
    /// The host it was sent to, whose events tell its outcome.
    host: usize,
}

/// A step's transactions in flight, by hash (looked up only), and each one's outcome.
#[derive(Debug, Default)]
pub struct Tracker {
    in_flight: HashMap<Hash, InFlight>,
    outcomes: Vec<Outcome>,
    last_commit: Option<Instant>,
    /// Refusals by status: how many, and the first one's message.
    refusals: BTreeMap<u16, (u64, String)>,
    /// Why a host's event stream ended, if one did: later commits would go unseen.
    pub stream_ended: Option<String>,
}

impl Tracker {
    /// Starts tracking a step of `count` transactions.
    pub fn start(&mut self, count: usize) {
        assert!(count <= STEP_TXS_MAX);
        assert!(self.in_flight.is_empty(), "the last step was finished");
        self.outcomes = vec![Outcome::InFlight; count];
        self.last_commit = None;
        self.refusals.clear();
    }

    /// Transaction `index` of the step, due at `due`, is being sent to `host`.
    pub fn sent(&mut self, hash: Hash, index: usize, due: Instant, host: usize) {
        assert!(self.in_flight.len() < self.outcomes.len());
        self.in_flight.insert(hash, InFlight { index, due, host });
    }

    /// Admission's answer to a transaction: its HTTP status (200 or 202 when admitted) and
    /// the error given, or none when its batch was not answered.
    pub fn answered(&mut self, hash: &Hash, answer: Option<(u16, &str)>) {
        let failure = match answer {
            Some((200 | 202, _)) => return,
            Some((503, _)) => Failure::Busy,
            Some(_) => Failure::Refused,
            None => Failure::Unanswered,
        };
        if let Some((status, error)) = answer {
            let refusal = self
                .refusals
                .entry(status)
                .or_insert_with(|| (0, error.to_owned()));
            refusal.0 += 1;
        }
        if let Some(tx) = self.in_flight.remove(hash) {
            self.outcomes[tx.index] = Outcome::Failed(failure);
        }
    }

    /// What `host`'s event stream told at `at` of a transaction's end (see [`tx_end`]): one
    /// sent to that host is settled.
    pub fn ended(&mut self, host: usize, (hash, committed): (Hash, bool), at: Instant) {
        let Some(tx) = self.in_flight.get(&hash).filter(|tx| tx.host == host) else {
            return;
        };
        let outcome = if !committed {
            Outcome::Failed(Failure::Rejected)
        } else {
            self.last_commit = Some(at);
            let latency = at.saturating_duration_since(tx.due);
            if latency <= COMMIT_TIMEOUT {
                Outcome::Committed(latency)
            } else {
                Outcome::Failed(Failure::TimedOut)
            }
        };
        if let Some(tx) = self.in_flight.remove(&hash) {
            self.outcomes[tx.index] = outcome;
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Ends the step: what is still in flight timed out.
    pub fn finish(&mut self) -> Settled {
        for (_, tx) in self.in_flight.drain() {
            self.outcomes[tx.index] = Outcome::Failed(Failure::TimedOut);
        }
        Settled {
            outcomes: std::mem::take(&mut self.outcomes),
            last_commit: self.last_commit,
            refusals: std::mem::take(&mut self.refusals)
                .into_iter()
                .map(|(status, (count, example))| Refusal {
                    status,
                    count,
                    example,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(tracker: &mut Tracker, host: usize, name: &str, data: &str, at: Instant) {
        if let Some(end) = tx_end(name, data) {
            tracker.ended(host, end, at);
        }
    }

    fn tx_event(hash: Hash, status: &str) -> String {
        serde_json::to_string(&TxStatusBody {
            hash: hash.to_string(),
            status: status.to_owned(),
            chain_id: Some("chain".to_owned()),
            height: Some(3),
            reason: None,
        })
        .unwrap()
    }

    #[test]
    fn failure_reasons_are_counted_and_latency_runs_from_the_due_time() {
        let mut tracker = Tracker::default();
        tracker.start(8);
        let due = Instant::now();
        let hashes: Vec<Hash> = (0..8).map(|i| Hash([i as u8; 32])).collect();
        for (index, hash) in hashes.iter().enumerate().take(7) {
            tracker.sent(*hash, index, due, 0);
        }
        // Admission: 0 and 1 admitted, 2 busy, 3 and 4 refused, 5 unanswered.
        for (index, code) in [(0, 202), (1, 202), (2, 503), (3, 409), (4, 422)] {
            tracker.answered(&hashes[index], Some((code, &format!("error {index}"))));
        }
        tracker.answered(&hashes[5], None);
        let later = due + Duration::from_millis(250);
        // Only the host it was sent to tells; other events change nothing.
        event(
            &mut tracker,
            1,
            "tx",
            &tx_event(hashes[0], "committed"),
            later,
        );
        event(&mut tracker, 0, "head", "{}", later);
        event(
            &mut tracker,
            0,
            "tx",
            &tx_event(hashes[0], "pending"),
            later,
        );
        assert_eq!(tracker.in_flight(), 3);
        event(
            &mut tracker,
            0,
            "tx",
            &tx_event(hashes[0], "committed"),
            later,
        );
        event(
            &mut tracker,
            0,
            "tx",
            &tx_event(hashes[6], "rejected"),
            later,
        );
        // 1 commits too late; 7 was never sent (the bench's own limit).
        let too_late = due + COMMIT_TIMEOUT + Duration::from_millis(1);
        event(
            &mut tracker,
            0,
            "tx",
            &tx_event(hashes[1], "committed"),
            too_late,
        );
        let Settled {
            outcomes,
            last_commit,
            refusals,
        } = tracker.finish();
        assert_eq!(last_commit, Some(too_late));
        let refused: Vec<(u16, u64, &str)> = refusals
            .iter()
            .map(|r| (r.status, r.count, r.example.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (409, 1, "error 3"),
                (422, 1, "error 4"),
                (503, 1, "error 2")
            ]
        );
        assert_eq!(
            outcomes,
            [
                Outcome::Committed(Duration::from_millis(250)),
                Outcome::Failed(Failure::TimedOut),
                Outcome::Failed(Failure::Busy),
                Outcome::Failed(Failure::Refused),
                Outcome::Failed(Failure::Refused),
                Outcome::Failed(Failure::Unanswered),
                Outcome::Failed(Failure::Rejected),
                Outcome::InFlight,
            ]
        );
        let mut failures = Failures {
            senders_full: 1,
            ..Failures::default()
        };
        for outcome in outcomes {
            if let Outcome::Failed(failure) = outcome {
                failures.count(failure);
            }
        }
        assert_eq!(
            (failures.busy, failures.refused, failures.rejected),
            (1, 2, 1)
        );
        assert_eq!((failures.timed_out, failures.unanswered), (1, 1));
        assert_eq!(failures.total(), 7);
    }

    #[test]
    fn what_is_still_in_flight_at_the_end_timed_out() {
        let mut tracker = Tracker::default();
        tracker.start(2);
        let hash = Hash([1; 32]);
        tracker.sent(hash, 1, Instant::now(), 0);
        tracker.answered(&hash, Some((202, "")));
        let settled = tracker.finish();
        assert_eq!(settled.outcomes[1], Outcome::Failed(Failure::TimedOut));
        assert_eq!(settled.last_commit, None);
        tracker.start(1);
        assert_eq!(tracker.in_flight(), 0, "a new step starts empty");
    }
}
