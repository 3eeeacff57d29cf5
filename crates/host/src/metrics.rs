//! What a host reports to Prometheus.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub chains_hosted: Gauge,
    pub chains_loaded: Gauge,
    pub active_heights: Gauge,
    pub mempool_txs: Gauge,
    pub mempool_bytes: Gauge,
    pub peers: Gauge,
    pub tick_seconds: Histogram,
    pub tick_messages: Histogram,
    pub tick_signatures: Histogram,
    pub blocks_committed: Counter,
    pub txs_committed: Counter,
    pub signatures_verified: Counter,
    pub peers_penalized: Counter,
    pub evidence: Counter,
    pub sends_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("myriad");
        let chains_hosted = Gauge::default();
        let chains_loaded = Gauge::default();
        let active_heights = Gauge::default();
        let mempool_txs = Gauge::default();
        let mempool_bytes = Gauge::default();
        let peers = Gauge::default();
        let tick_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 14));
        let tick_messages = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        let tick_signatures = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        let blocks_committed = Counter::default();
        let txs_committed = Counter::default();
        let signatures_verified = Counter::default();
        let peers_penalized = Counter::default();
        let evidence = Counter::default();
        let sends_dropped = Counter::default();
        registry.register(
            "chains_hosted",
            "Chains in this host's store",
            chains_hosted.clone(),
        );
        registry.register(
            "chains_loaded",
            "Chains loaded in memory",
            chains_loaded.clone(),
        );
        registry.register(
            "active_heights",
            "Consensus instances running",
            active_heights.clone(),
        );
        registry.register(
            "mempool_txs",
            "Pending transactions, all chains",
            mempool_txs.clone(),
        );
        registry.register(
            "mempool_bytes",
            "Bytes of pending transactions, all chains",
            mempool_bytes.clone(),
        );
        registry.register("peers", "Peers connected", peers.clone());
        registry.register(
            "tick_seconds",
            "Duration of one tick, fsync included",
            tick_seconds.clone(),
        );
        registry.register(
            "tick_messages",
            "Messages handled in one tick",
            tick_messages.clone(),
        );
        registry.register(
            "tick_signatures",
            "Signatures verified in one tick's batch",
            tick_signatures.clone(),
        );
        registry.register(
            "blocks_committed",
            "Blocks committed",
            blocks_committed.clone(),
        );
        registry.register(
            "txs_committed",
            "Transactions committed",
            txs_committed.clone(),
        );
        registry.register(
            "signatures_verified",
            "Signatures verified",
            signatures_verified.clone(),
        );
        registry.register(
            "peers_penalized",
            "Peers disconnected for misbehaving",
            peers_penalized.clone(),
        );
        registry.register(
            "evidence",
            "Equivocations seen from validators",
            evidence.clone(),
        );
        registry.register(
            "sends_dropped",
            "Envelopes dropped because a peer's queue was full",
            sends_dropped.clone(),
        );
        Metrics {
            registry,
            chains_hosted,
            chains_loaded,
            active_heights,
            mempool_txs,
            mempool_bytes,
            peers,
            tick_seconds,
            tick_messages,
            tick_signatures,
            blocks_committed,
            txs_committed,
            signatures_verified,
            peers_penalized,
            evidence,
            sends_dropped,
        }
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
