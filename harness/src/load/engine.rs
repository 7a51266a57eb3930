//! The engine: prepares a fixture for load (its protocol's [`super::proto`] module), opens
//! every connection first (the connection phase, [`super::connect`]: before `--start-at` when
//! it is given), then runs one task per connection on the [`Schedule`] for warmup plus duration
//! (every task cancelled at the end, whatever it waits for), each starting on the connection the
//! phase opened for it; the connections record into a few shared shards (so that 10,000
//! connections cost kilobytes each, not histograms each) of a [`Measurement`], which shows
//! progress, samples a runner's processes when asked, and merges the shards' tallies. The
//! schedule's origin is the run's start, after the phase. A broadcast fixture has an engine of
//! its own ([`broadcast::run`]).

use std::sync::Arc;

use harness_fixture::{Fixture, Spec};
use url::Url;

use super::connect::{Opened, Pace, establish};
use super::measurement::{Measurement, Outcome};
use super::proto::{
    Http2, RestH2Load, RestLoad, ScenarioLoad, Socket, SseLoad, Subscribed, WsLoad, broadcast,
};
use super::recorder::ErrorKind;
use super::recorder::Recorder;
use super::schedule::{Pacer, Schedule, Shard};
use super::worker::{HttpVersion, LoadConfig, LoadError, Unloadable, Worker};
use crate::wire::tls::ALPN_H2;
use crate::wire::transport::Stream;

/// A fixture prepared for load, by protocol (one per run, behind an `Arc`: sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Load {
    Rest(RestLoad),
    RestH2(RestH2Load),
    WebSocket(WsLoad),
    Sse(SseLoad),
    Scenario(ScenarioLoad),
}

impl Load {
    async fn prepare(
        fixture: &Fixture,
        base: &Url,
        config: &LoadConfig,
    ) -> Result<Load, LoadError> {
        let max = config.max_event_size;
        let (tls, sources) = (config.http1_tls(), &config.sources);
        Ok(match &fixture.spec {
            Spec::Rest(rest) => match config.http {
                HttpVersion::Http1 => {
                    Load::Rest(RestLoad::prepare(rest, base, &tls, sources).await?)
                }
                HttpVersion::Http2 { streams } => {
                    let h2 = config.tls.with_alpn(&[ALPN_H2]);
                    Load::RestH2(RestH2Load::prepare(rest, base, &h2, sources, streams).await?)
                }
            },
            // `stream` (WebSocket, SSE) refuses --http2 before this: HTTP/1.1.
            Spec::WebSocket(ws) => {
                Load::WebSocket(WsLoad::prepare(ws, base, &tls, sources, max).await?)
            }
            Spec::Sse(sse) => {
                if config.schedule != Schedule::Closed {
                    return Err(Unloadable::PacedByServer.into());
                }
                Load::Sse(SseLoad::prepare(sse, base, &tls, sources, max).await?)
            }
            Spec::Broadcast(_) => {
                return Err(Unloadable::OwnEngine.into());
            }
            Spec::Scenario(_) if !sources.is_empty() => {
                return Err(Unloadable::ScenarioSources.into());
            }
            Spec::Scenario(scenario) => {
                Load::Scenario(ScenarioLoad::prepare(scenario, base, config).map_err(|e| {
                    Unloadable::HttpClient {
                        reason: e.to_string(),
                    }
                })?)
            }
        })
    }

    /// Opens one connection for the connection phase; `None` for a REST scenario, whose
    /// client opens its own connections.
    fn open(self: &Arc<Self>) -> impl Future<Output = Result<Connection, ErrorKind>> + use<> {
        let load = self.clone();
        async move {
            Ok(match &*load {
                Load::Rest(rest) => Connection::Rest(rest.open().await?),
                Load::RestH2(h2) => Connection::RestH2(Box::new(h2.open().await?)),
                Load::WebSocket(ws) => Connection::WebSocket(Box::new(ws.connect().await?)),
                Load::Sse(sse) => Connection::Sse(Box::new(sse.open().await?)),
                Load::Scenario(_) => Connection::Own,
            })
        }
    }

    /// Runs one connection's worker, starting on `first` (the phase's connection) if any.
    /// Runs one connection's load. Each protocol's future is boxed: a task is then as large as
    /// its own protocol's state, not the largest protocol's (kilobytes, times every connection).
    async fn worker(&self, worker: &mut Worker, first: Option<Connection>) {
        match (self, first) {
            (Load::Rest(load), Some(Connection::Rest(c))) => {
                Box::pin(load.worker(worker, Some(c))).await
            }
            (Load::Rest(load), _) => Box::pin(load.worker(worker, None)).await,
            (Load::RestH2(load), Some(Connection::RestH2(c))) => {
                Box::pin(load.worker(worker, Some(*c))).await
            }
            (Load::RestH2(load), _) => Box::pin(load.worker(worker, None)).await,
            (Load::WebSocket(load), Some(Connection::WebSocket(c))) => {
                Box::pin(load.worker(worker, Some(*c))).await
            }
            (Load::WebSocket(load), _) => Box::pin(load.worker(worker, None)).await,
            (Load::Sse(load), Some(Connection::Sse(c))) => {
                Box::pin(load.worker(worker, Some(*c))).await
            }
            (Load::Sse(load), _) => Box::pin(load.worker(worker, None)).await,
            (Load::Scenario(load), _) => Box::pin(load.worker(worker)).await,
        }
    }
}

/// A connection the phase opened, by protocol (a REST scenario's client opens its own).
enum Connection {
    Rest(Stream),
    RestH2(Box<Http2>),
    WebSocket(Box<Socket>),
    Sse(Box<Subscribed>),
    Own,
}

/// Loads `fixture` on the server at `base` as `config` says.
pub async fn run(fixture: &Fixture, base: &Url, config: &LoadConfig) -> Result<Outcome, LoadError> {
    if config.connections == 0 {
        return Err(Unloadable::NoConnection.into());
    }
    if let Spec::Broadcast(broadcast) = &fixture.spec {
        if config.shard != Shard::WHOLE || config.start_at.is_some() {
            return Err(Unloadable::BroadcastSharded.into());
        }
        return broadcast::run(broadcast, base, config).await;
    }
    let load = Arc::new(Load::prepare(fixture, base, config).await?);
    let count = config.connections;
    // This generator's connections, by their place in the whole run (all of them unsharded).
    let mine: Vec<usize> = config.shard.connections(count).collect();
    if mine.is_empty() {
        return Err(Unloadable::EmptyShard {
            shard: config.shard.index,
            shards: config.shard.count,
            connections: count,
        }
        .into());
    }
    // The connection phase (a scenario's client connects on its own: no phase), before the
    // run's start: with `--start-at`, connect early, then wait for the start.
    let (opened, connect_phase) = if matches!(*load, Load::Scenario(_)) {
        (Vec::new(), None)
    } else {
        let pace = Pace {
            ramp: config.ramp,
            concurrency: config.connect_concurrency,
            timeout: config.timeout,
        };
        let (opened, phase) = establish(&mine, count, pace, config.progress.as_deref(), || {
            load.open()
        })
        .await;
        (opened, Some(phase))
    };
    let mut opened = opened.into_iter();
    let measurement = Measurement::begin(config, mine.len());
    if let Some(at) = config.start_at
        && at < std::time::SystemTime::now()
    {
        tracing::warn!(
            "the connection phase ended after --start-at: this shard starts late; give the \
             phase room before the start time"
        );
    }
    let (start, window, shards) = (measurement.start, measurement.window, &measurement.shards);
    tokio::time::sleep_until(start.into()).await;
    let (mut workers, here) = (Vec::with_capacity(mine.len()), mine.len());
    for index in mine {
        let mut worker = Worker {
            // Operations are due from the run's start, after the connection phase.
            pacer: Pacer::new(config.schedule, start, index, count).in_process_of(here),
            recorder: Recorder::new(shards[index % shards.len()].clone()),
            timeout: config.timeout,
        };
        let first: Opened<Connection> = opened.next().flatten();
        let first = first.map(|(connection, took)| {
            worker.recorder.connected(took);
            connection
        });
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let run = load.worker(&mut worker, first);
            let _ = tokio::time::timeout_at(window.end.into(), run).await;
            let Worker {
                pacer, recorder, ..
            } = worker;
            recorder.finish(&pacer);
        }));
    }

    for worker in workers {
        if let Err(e) = worker.await {
            tracing::error!("a load worker failed: {e}");
        }
    }
    let mut outcome = measurement.finish(None).await;
    outcome.connect_phase = connect_phase;
    if let Load::WebSocket(ws) = &*load {
        outcome.subscription_items = ws.subscription_items();
    }
    Ok(outcome)
}
