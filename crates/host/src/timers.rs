//! The host's one timer queue: every consensus timeout of every chain, in deadline order.
//! An idle chain has none; a timeout whose instance has moved on is dropped when it fires.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use myriad_consensus::Timeout;
use myriad_types::ChainId;

#[derive(Debug)]
struct Entry {
    at_ms: u64,
    seq: u64,
    chain: ChainId,
    timeout: Timeout,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed, so that the max-heap pops the earliest deadline first.
    fn cmp(&self, other: &Entry) -> Ordering {
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Entry>,
    seq: u64,
}

impl Timers {
    pub fn schedule(&mut self, at_ms: u64, chain: ChainId, timeout: Timeout) {
        self.seq += 1;
        self.heap.push(Entry {
            at_ms,
            seq: self.seq,
            chain,
            timeout,
        });
    }

    /// When the earliest timeout is due.
    pub fn next_at_ms(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.at_ms)
    }

    /// Every timeout due at `now_ms`, earliest first.
    pub fn expired(&mut self, now_ms: u64) -> Vec<(ChainId, Timeout)> {
        let mut due = Vec::new();
        while self.heap.peek().is_some_and(|e| e.at_ms <= now_ms) {
            if let Some(entry) = self.heap.pop() {
                due.push((entry.chain, entry.timeout));
            }
        }
        due
    }
}
