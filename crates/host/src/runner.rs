//! Runs a [`Host`] on its own thread: the tick loop, fed by the transport and by clients.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use myriad_client::genesis::now_ms;
use myriad_net::{Inbound, Transport};
use myriad_store::{HostStore, ReadStore, Store};
use myriad_types::{ChainId, HostId, SecretKey};
use rand_core::OsRng;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::book::{OrderBook, Pair};
use crate::config::HostConfig;
use crate::host::{Command, Host, HostError, HostEvent, HostIo, SharedRootView, TickReport};
use crate::metrics::Metrics;
use crate::status::Statuses;

/// How many client commands wait for the tick loop before clients are told it is busy.
pub const COMMANDS_MAX: usize = 65_536;
/// How many events (heads, transaction statuses, evidence) a subscriber of the event stream
/// may fall behind by before it misses some: a few seconds of commits at full load.
pub const EVENTS_MAX: usize = 65_536;

/// What the API (or a test) holds of a running host.
#[derive(Debug, Clone)]
pub struct HostHandle {
    pub host: HostId,
    pub store: Arc<dyn ReadStore>,
    pub statuses: Arc<Mutex<Statuses>>,
    pub events: broadcast::Sender<HostEvent>,
    pub metrics: Arc<Metrics>,
    /// Exchangers' quotes, written by the tick loop.
    pub book: Arc<Mutex<OrderBook>>,
    /// The pairs whose quotes changed.
    pub quote_changes: broadcast::Sender<Pair>,
    /// The root chain's id, if the host follows one, and what readers see of it.
    pub root: Option<ChainId>,
    pub root_view: SharedRootView,
    commands: mpsc::Sender<Command>,
}

impl HostHandle {
    /// Queues a command for the tick loop; `false` when the loop is busy or gone.
    pub fn send(&self, command: Command) -> bool {
        self.commands.try_send(command).is_ok()
    }
}

/// A host running on its thread. Dropping it does not stop it; call [`RunningHost::stop`].
#[derive(Debug)]
pub struct RunningHost {
    pub handle: HostHandle,
    stop: watch::Sender<bool>,
    done: oneshot::Receiver<Result<(), HostError>>,
}

impl RunningHost {
    /// Starts the tick loop of a host over `transport`: the host gets the OS's randomness,
    /// its configured vote log file, and the wall clock at each tick.
    pub fn start<S: Store + 'static>(
        config: HostConfig,
        key: SecretKey,
        store: Arc<S>,
        transport: Arc<dyn Transport>,
        inbound: mpsc::Receiver<Inbound>,
    ) -> Result<RunningHost, HostError> {
        let statuses = Arc::new(Mutex::new(Statuses::default()));
        let (events, _) = broadcast::channel(EVENTS_MAX);
        let metrics = Arc::new(Metrics::new());
        let tick = Duration::from_millis(config.tick_ms);
        let tick_messages = config.limits.tick_messages;
        let io = HostIo {
            statuses: statuses.clone(),
            events: events.clone(),
            metrics: metrics.clone(),
            vote_log: open_vote_log(config.vote_log.as_deref())?,
            rng: Box::new(OsRng),
        };
        let root = config.root.as_ref().map(|root| root.chain);
        let host = Host::new(config, key, store.clone(), io)?;
        let (commands, command_rx) = mpsc::channel(COMMANDS_MAX);
        let handle = HostHandle {
            host: host.id(),
            store,
            statuses,
            events,
            metrics,
            book: host.book(),
            quote_changes: host.quote_changes(),
            root,
            root_view: host.root_view(),
            commands,
        };
        let (stop, stopped) = watch::channel(false);
        let thread_metrics = handle.metrics.clone();
        let (done_tx, done) = oneshot::channel();
        let name = format!("host-{}", handle.host);
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let result = match runtime {
                Ok(runtime) => runtime.block_on(
                    TickLoop {
                        host,
                        transport,
                        inbound,
                        commands: command_rx,
                        stopped,
                        metrics: thread_metrics,
                        tick,
                        tick_messages,
                    }
                    .run(),
                ),
                Err(error) => Err(HostError::Thread(error)),
            };
            if let Err(error) = &result {
                tracing::error!(%error, "host stopped");
            }
            let _ = done_tx.send(result);
        });
        if let Err(error) = spawned {
            return Err(HostError::Thread(error));
        }
        Ok(RunningHost { handle, stop, done })
    }

    /// Stops after the tick in progress; returns how the loop ended.
    pub async fn stop(self) -> Result<(), HostError> {
        let _ = self.stop.send(true);
        self.done.await.unwrap_or(Ok(()))
    }

    /// Waits until the loop ends on its own (a store failure).
    pub async fn finished(&mut self) -> Result<(), HostError> {
        (&mut self.done).await.unwrap_or(Ok(()))
    }
}

/// The vote log file, opened to append, if the configuration names one.
fn open_vote_log(path: Option<&Path>) -> Result<Option<Box<dyn Write + Send>>, HostError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(HostError::VoteLog)?;
    Ok(Some(Box::new(std::io::BufWriter::new(file))))
}

/// When the next tick is due on the runtime's clock (`Host::next_tick_ms`); a message
/// arriving meanwhile brings it forward (see `TickLoop::run`).
fn next_deadline<S: HostStore>(host: &Host<S>, report: &TickReport) -> tokio::time::Instant {
    let now = now_ms();
    let wait = host.next_tick_ms(report, now).saturating_sub(now);
    tokio::time::Instant::now() + Duration::from_millis(wait)
}

/// The tick loop and what feeds it.
struct TickLoop<S> {
    host: Host<S>,
    transport: Arc<dyn Transport>,
    inbound: mpsc::Receiver<Inbound>,
    commands: mpsc::Receiver<Command>,
    stopped: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
    tick: Duration,
    tick_messages: usize,
}

impl<S: HostStore> TickLoop<S> {
    async fn run(self) -> Result<(), HostError> {
        let TickLoop {
            mut host,
            transport,
            mut inbound,
            mut commands,
            mut stopped,
            metrics,
            tick,
            tick_messages,
        } = self;
        let mut deadline = tokio::time::Instant::now() + tick;
        loop {
            let mut received = Vec::new();
            let mut requests = Vec::new();
            let mut count = 0;
            loop {
                tokio::select! {
                    biased;
                    _ = stopped.changed() => {
                        host.shut_down();
                        return Ok(());
                    }
                    _ = tokio::time::sleep_until(deadline) => break,
                    Some(envelope) = inbound.recv() => {
                        count += envelope.envelope.items.len();
                        received.push(envelope);
                    }
                    Some(command) = commands.recv() => {
                        count += 1;
                        requests.push(command);
                    }
                }
                // Whatever arrives is handled within one tick, however long the host idled.
                deadline = deadline.min(tokio::time::Instant::now() + tick);
                if count >= tick_messages {
                    break;
                }
            }
            let started = Instant::now();
            let report = host.tick(now_ms(), received, requests, transport.as_ref())?;
            metrics
                .tick_seconds
                .observe(started.elapsed().as_secs_f64());
            metrics.tick_messages.observe(report.messages as f64);
            metrics.tick_signatures.observe(report.signatures as f64);
            deadline = next_deadline(&host, &report);
        }
    }
}
