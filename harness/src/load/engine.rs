//! The engine: prepares a fixture for load (its protocol's [`super::proto`] module), runs one
//! task per connection on the [`Schedule`] for warmup plus duration (every task cancelled at the
//! end, whatever it waits for), the connections recording into a few shared shards (so that
//! 10,000 connections cost kilobytes each, not histograms each) of a [`Measurement`], which shows
//! progress, samples a runner's processes when asked, and merges the shards' tallies. A
//! broadcast fixture has an engine of its own ([`broadcast::run`]).

use std::sync::Arc;

use harness_fixture::{Fixture, Spec};
use url::Url;

use super::measurement::{Measurement, Outcome};
use super::proto::{RestH2Load, RestLoad, ScenarioLoad, SseLoad, WsLoad, broadcast};
use super::recorder::Recorder;
use super::schedule::{Pacer, Schedule, Shard};
use super::worker::{HttpVersion, LoadConfig, LoadError, Unloadable, Worker};
use crate::wire::tls::ALPN_H2;

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
        let tls = config.http1_tls();
        Ok(match &fixture.spec {
            Spec::Rest(rest) => match config.http {
                HttpVersion::Http1 => Load::Rest(RestLoad::prepare(rest, base, &tls).await?),
                HttpVersion::Http2 { streams } => {
                    let h2 = config.tls.with_alpn(&[ALPN_H2]);
                    Load::RestH2(RestH2Load::prepare(rest, base, &h2, streams).await?)
                }
            },
            // `stream` (WebSocket, SSE) refuses --http2 before this: HTTP/1.1.
            Spec::WebSocket(ws) => Load::WebSocket(WsLoad::prepare(ws, base, &tls, max).await?),
            Spec::Sse(sse) => {
                if config.schedule != Schedule::Closed {
                    return Err(Unloadable::PacedByServer.into());
                }
                Load::Sse(SseLoad::prepare(sse, base, &tls, max).await?)
            }
            Spec::Broadcast(_) => {
                return Err(Unloadable::OwnEngine.into());
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

    async fn worker(&self, worker: &mut Worker) {
        match self {
            Load::Rest(load) => load.worker(worker).await,
            Load::RestH2(load) => load.worker(worker).await,
            Load::WebSocket(load) => load.worker(worker).await,
            Load::Sse(load) => load.worker(worker).await,
            Load::Scenario(load) => load.worker(worker).await,
        }
    }
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
    let measurement = Measurement::begin(config, mine.len());
    let (start, window, shards) = (measurement.start, measurement.window, &measurement.shards);
    // `--start-at`: nothing is opened or sent before the run's start.
    tokio::time::sleep_until(start.into()).await;
    let mut workers = Vec::with_capacity(mine.len());
    for index in mine {
        let opens_at = start + config.ramp.mul_f64(index as f64 / count as f64);
        let mut worker = Worker {
            pacer: Pacer::new(config.schedule, opens_at, index, count),
            recorder: Recorder::new(shards[index % shards.len()].clone()),
            timeout: config.timeout,
            opens_at,
        };
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let _ = tokio::time::timeout_at(window.end.into(), load.worker(&mut worker)).await;
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
    if let Load::WebSocket(ws) = &*load {
        outcome.subscription_items = ws.subscription_items();
    }
    Ok(outcome)
}
