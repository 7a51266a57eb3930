//! The `rpc` WebSocket handler: JSON-RPC 2.0 with the methods a fixture declares
//! (`fixtures/README.md`, "RPC handlers").
//!
//! One task serves a connection. It reads requests and judges them at once (counters change and
//! subscription ids are chosen when a request arrives); a delayed reply waits as a timer of that
//! task, a subscription's items as a stream of it, so requests are served concurrently while the
//! task stays the socket's only writer. Nothing outlives the connection: the timers, streams and
//! the heartbeat are values the task owns and drops when it returns.

use std::collections::HashMap;
use std::path::Path;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::future::BoxFuture;
use futures_util::stream::{self, AbortHandle, Abortable, BoxStream, FuturesUnordered, SelectAll};
use futures_util::{FutureExt, SinkExt, StreamExt};
use harness_fixture::handler::WsHandler;
use harness_fixture::rpc::{
    MAX_DELAY_MS, RpcComputed, RpcError, RpcMethod, RpcMethods, RpcResult, RpcSubscribe,
    parse_request, sum_params,
};
use serde_json::{Value, json};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::error::BuildError;
use crate::shutdown::Shutdown;
use crate::ws::close;

/// What the server sends every `heartbeat_ms`.
const HEARTBEAT: &str = r#"{"jsonrpc":"2.0","method":"heartbeat"}"#;

/// An `rpc` handler's methods and heartbeat, ready to serve.
pub(crate) struct RpcEndpoint {
    methods: RpcMethods,
    heartbeat: Option<Duration>,
}

impl RpcEndpoint {
    /// Prepares an `rpc` handler; refuses what the schema refuses but the model lets through
    /// (a zero heartbeat would make a timer that never waits, a delay beyond the maximum).
    pub(crate) fn new(file: &Path, handler: &WsHandler) -> Result<Self, BuildError> {
        if handler.methods.is_empty() {
            return Err(BuildError::handler(
                file,
                "/handler/methods",
                "an `rpc` handler declares at least one method",
            ));
        }
        for (name, method) in &handler.methods {
            if let RpcMethod::Reply { delay_ms, .. } = method
                && *delay_ms > MAX_DELAY_MS
            {
                return Err(BuildError::handler(
                    file,
                    format!("/handler/methods/{name}/delay_ms"),
                    format!("at most {MAX_DELAY_MS}"),
                ));
            }
        }
        let heartbeat = match handler.heartbeat_ms {
            Some(0) => {
                return Err(BuildError::handler(
                    file,
                    "/handler/heartbeat_ms",
                    "at least 1",
                ));
            }
            period => period.map(Duration::from_millis),
        };
        Ok(RpcEndpoint {
            methods: handler.methods.clone(),
            heartbeat,
        })
    }

    /// Serves one connection until the client closes it, it breaks, or the server shuts down.
    pub(crate) async fn serve(&self, mut socket: WebSocket, shutdown: Shutdown) {
        let mut stop = pin!(shutdown.wait());
        let mut heartbeat = self.heartbeat.map(|period| {
            let mut timer = tokio::time::interval_at(Instant::now() + period, period);
            timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
            timer
        });
        let mut connection = Connection::new(&self.methods);
        let mut pending: FuturesUnordered<BoxFuture<'static, Outcome>> = FuturesUnordered::new();
        loop {
            let event = tokio::select! {
                message = socket.recv() => Event::Received(message),
                Some(outcome) = pending.next() => Event::Due(outcome),
                Some(item) = connection.items.next() => Event::Item(item),
                () = tick(&mut heartbeat) => Event::Heartbeat,
                () = &mut stop => Event::Shutdown,
            };
            let outcome = match event {
                Event::Received(None | Some(Err(_))) => return,
                Event::Received(Some(Ok(Message::Close(_)))) => {
                    // tungstenite has queued the reply (same code and reason): flush it, then
                    // end the connection.
                    let _ = socket.flush().await;
                    return;
                }
                // tungstenite queues the pong; the next read flushes it.
                Event::Received(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Event::Received(Some(Ok(Message::Text(text)))) => {
                    let planned = connection.receive(text.as_str());
                    if !planned.delay.is_zero() {
                        pending.push(
                            tokio::time::sleep(planned.delay)
                                .map(|()| planned.outcome)
                                .boxed(),
                        );
                        continue;
                    }
                    planned.outcome
                }
                Event::Received(Some(Ok(Message::Binary(_)))) => {
                    Outcome::message(RpcError::ParseError.reply(&Value::Null))
                }
                Event::Due(outcome) => outcome,
                Event::Item(item) => connection.item_sent(item),
                Event::Heartbeat => {
                    if socket.send(Message::Text(HEARTBEAT.into())).await.is_err() {
                        return;
                    }
                    continue;
                }
                Event::Shutdown => {
                    let frame = CloseFrame {
                        code: 1001,
                        reason: "server shutting down".into(),
                    };
                    close(socket, frame).await;
                    return;
                }
            };
            if let Some(message) = outcome.message
                && socket
                    .send(Message::Text(message.to_string().into()))
                    .await
                    .is_err()
            {
                return;
            }
            connection.start(outcome.subscriptions);
        }
    }
}

/// What woke the connection's task.
enum Event {
    Received(Option<Result<Message, axum::Error>>),
    Due(Outcome),
    Item(Item),
    Heartbeat,
    Shutdown,
}

/// The next heartbeat; never, without one.
async fn tick(heartbeat: &mut Option<Interval>) {
    match heartbeat {
        Some(timer) => {
            timer.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// What to send for a message, and the subscriptions whose items begin once it is sent.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The reply (one object, or a batch's array); `None`: nothing to send.
    message: Option<Value>,
    /// Subscriptions the message started, in the order of the requests.
    subscriptions: Vec<Ticker>,
}

impl Outcome {
    fn message(message: Value) -> Self {
        Outcome {
            message: Some(message),
            subscriptions: Vec::new(),
        }
    }
}

/// An [`Outcome`] and how long after the message's arrival it is due.
#[derive(Debug, PartialEq)]
struct Planned {
    outcome: Outcome,
    delay: Duration,
}

/// One request served: its reply (none for a notification), when, and what it starts.
struct Served {
    reply: Option<Value>,
    delay: Duration,
    subscription: Option<Ticker>,
}

/// A method's answer before it becomes a reply: a result or an error object.
struct Answer {
    result: Result<Value, Value>,
    delay: Duration,
    subscription: Option<Ticker>,
}

impl Answer {
    fn now(result: Result<Value, Value>) -> Self {
        Answer {
            result,
            delay: Duration::ZERO,
            subscription: None,
        }
    }

    fn error(error: RpcError) -> Self {
        Answer::now(Err(error_object(error)))
    }
}

/// The `error` member of a reply for one of the canonical errors.
fn error_object(error: RpcError) -> Value {
    json!({"code": error.code(), "message": error.message()})
}

/// The items of one subscription, before they start.
#[derive(Debug, Clone, PartialEq)]
struct Ticker {
    id: String,
    notification: String,
    timestamp_field: Option<String>,
    count: Option<u64>,
    interval: Duration,
}

impl Ticker {
    /// The items: each `interval` after the previous one was taken (sent), the first `interval`
    /// after the stream starts.
    fn items(self) -> BoxStream<'static, Item> {
        stream::unfold((self, 0u64), |(ticker, sent)| async move {
            if ticker.count.is_some_and(|count| sent >= count) {
                return None;
            }
            tokio::time::sleep(ticker.interval).await;
            let n = sent + 1;
            let item = Item {
                subscription: ticker.id.clone(),
                last: ticker.count == Some(n),
                message: ticker.message(n),
            };
            Some((item, (ticker, n)))
        })
        .boxed()
    }

    fn message(&self, n: u64) -> Value {
        let mut params = serde_json::Map::new();
        params.insert("subscription".into(), Value::from(self.id.as_str()));
        params.insert("n".into(), Value::from(n));
        if let Some(field) = &self.timestamp_field {
            params.insert(field.clone(), Value::from(unix_micros()));
        }
        json!({"jsonrpc": "2.0", "method": self.notification, "params": params})
    }
}

/// One subscription item, made when it is due.
struct Item {
    subscription: String,
    /// The subscription's last item: it ends with it.
    last: bool,
    message: Value,
}

/// The current time in Unix microseconds (0 on a clock before 1970).
fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
        })
}

/// The state of one connection: its counters and running subscriptions.
struct Connection<'a> {
    methods: &'a RpcMethods,
    counters: HashMap<String, i64>,
    /// The running subscriptions, by id: their streams stop when aborted.
    running: HashMap<String, AbortHandle>,
    items: SelectAll<Abortable<BoxStream<'static, Item>>>,
    subscriptions_made: u64,
}

impl<'a> Connection<'a> {
    fn new(methods: &'a RpcMethods) -> Self {
        Connection {
            methods,
            counters: HashMap::new(),
            running: HashMap::new(),
            items: SelectAll::new(),
            subscriptions_made: 0,
        }
    }

    /// Serves one text message: a request, a batch, or garbage.
    fn receive(&mut self, text: &str) -> Planned {
        let now = |message| Planned {
            outcome: Outcome::message(message),
            delay: Duration::ZERO,
        };
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return now(RpcError::ParseError.reply(&Value::Null));
        };
        match value {
            Value::Array(batch) if batch.is_empty() => {
                now(RpcError::InvalidRequest.reply(&Value::Null))
            }
            Value::Array(batch) => self.serve_batch(&batch),
            request => {
                let served = self.serve(&request);
                Planned {
                    outcome: Outcome {
                        message: served.reply,
                        subscriptions: served.subscription.into_iter().collect(),
                    },
                    delay: served.delay,
                }
            }
        }
    }

    /// A batch: its replies in its order as one array, due when the slowest is; nothing when
    /// every element was a notification.
    fn serve_batch(&mut self, batch: &[Value]) -> Planned {
        let served: Vec<Served> = batch.iter().map(|request| self.serve(request)).collect();
        let delay = served
            .iter()
            .map(|served| served.delay)
            .max()
            .unwrap_or_default();
        let mut replies = Vec::new();
        let mut subscriptions = Vec::new();
        for served in served {
            replies.extend(served.reply);
            subscriptions.extend(served.subscription);
        }
        Planned {
            outcome: Outcome {
                message: (!replies.is_empty()).then_some(Value::Array(replies)),
                subscriptions,
            },
            delay,
        }
    }

    /// One request object (a message or a batch element).
    fn serve(&mut self, request: &Value) -> Served {
        let request = match parse_request(request) {
            Ok(request) => request,
            Err(id) => {
                return Served {
                    reply: Some(RpcError::InvalidRequest.reply(&id)),
                    delay: Duration::ZERO,
                    subscription: None,
                };
            }
        };
        let answer = self.call(request.method, request.params);
        let Some(id) = request.id else {
            // A notification: the effect happened; nothing is sent, so nothing waits.
            return Served {
                reply: None,
                delay: Duration::ZERO,
                subscription: answer.subscription,
            };
        };
        let reply = match answer.result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err(error) => json!({"jsonrpc": "2.0", "id": id, "error": error}),
        };
        Served {
            reply: Some(reply),
            delay: answer.delay,
            subscription: answer.subscription,
        }
    }

    /// Calls a method: its effect happens now.
    fn call(&mut self, name: &str, params: Option<&Value>) -> Answer {
        let Some(method) = self.methods.get(name) else {
            return Answer::error(RpcError::MethodNotFound);
        };
        match method {
            RpcMethod::Reply { result, delay_ms } => {
                let result = match result {
                    RpcResult::Computed(RpcComputed::Params) => {
                        Ok(params.cloned().unwrap_or(Value::Null))
                    }
                    RpcResult::Computed(RpcComputed::Sum) => sum_params(params)
                        .map(Value::from)
                        .ok_or_else(|| error_object(RpcError::InvalidParams)),
                    RpcResult::Counter { counter } => Ok(Value::from(
                        self.counters.get(counter).copied().unwrap_or(0),
                    )),
                    RpcResult::Value { value } => Ok(value.clone()),
                };
                Answer {
                    result,
                    delay: Duration::from_millis(*delay_ms),
                    subscription: None,
                }
            }
            RpcMethod::Notify(counter) => {
                let value = self.counters.entry(counter.clone()).or_insert(0);
                *value += 1;
                Answer::now(Ok(Value::from(*value)))
            }
            RpcMethod::Subscribe(subscribe) => {
                let ticker = self.ticker(subscribe);
                Answer {
                    result: Ok(Value::from(ticker.id.as_str())),
                    delay: Duration::ZERO,
                    subscription: Some(ticker),
                }
            }
            RpcMethod::Unsubscribe => match params {
                Some(Value::Array(ids)) if matches!(ids.as_slice(), [Value::String(_)]) => {
                    let stopped = ids[0]
                        .as_str()
                        .and_then(|id| self.running.remove(id))
                        .inspect(AbortHandle::abort)
                        .is_some();
                    Answer::now(Ok(Value::Bool(stopped)))
                }
                _ => Answer::error(RpcError::InvalidParams),
            },
            RpcMethod::Fail(fail) => {
                let mut error = json!({"code": fail.code, "message": fail.message});
                if let Some(data) = &fail.data {
                    error["data"] = data.clone();
                }
                Answer::now(Err(error))
            }
        }
    }

    /// A new subscription of this connection, with an id no other of it has.
    fn ticker(&mut self, subscribe: &RpcSubscribe) -> Ticker {
        self.subscriptions_made += 1;
        Ticker {
            id: format!("sub-{}", self.subscriptions_made),
            notification: subscribe.notification.clone(),
            timestamp_field: subscribe.timestamp_field.clone(),
            count: subscribe.count,
            interval: Duration::from_millis(subscribe.interval_ms),
        }
    }

    /// Starts subscriptions whose reply has been sent.
    fn start(&mut self, tickers: Vec<Ticker>) {
        for ticker in tickers {
            if ticker.count == Some(0) {
                continue;
            }
            let (handle, registration) = AbortHandle::new_pair();
            self.running.insert(ticker.id.clone(), handle);
            self.items
                .push(Abortable::new(ticker.items(), registration));
        }
    }

    /// An item is about to be sent: after its subscription's last one, the subscription is no
    /// longer running.
    fn item_sent(&mut self, item: Item) -> Outcome {
        if item.last {
            self.running.remove(&item.subscription);
        }
        Outcome::message(item.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods() -> RpcMethods {
        serde_json::from_value(json!({
            "echo": {"reply": "params"},
            "sum": {"reply": "sum"},
            "slow_echo": {"reply": "params", "delay_ms": 300},
            "slow_sum": {"reply": "sum", "delay_ms": 150},
            "hits": {"reply": {"counter": "hits"}},
            "hit": {"notify": "hits"},
            "version": {"reply": {"value": {"major": 1}}},
            "ticks": {"subscribe": {"count": 2, "interval_ms": 5, "notification": "tick",
                                    "timestamp_field": "ts_us"}},
            "feed": {"subscribe": {"count": null, "interval_ms": 5, "notification": "feed"}},
            "cancel": {"unsubscribe": true},
            "boom": {"fail": {"code": -32001, "message": "Boom", "data": {"retry": false}}},
            "denied": {"fail": {"code": -32003, "message": "Forbidden"}}
        }))
        .expect("methods")
    }

    fn result(id: Value, result: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "result": result})
    }

    fn error(id: Value, code: i64, message: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
    }

    /// The message a text gets, asserting it is due at once and starts nothing.
    fn reply_now(connection: &mut Connection<'_>, text: &str) -> Option<Value> {
        let planned = connection.receive(text);
        assert_eq!(planned.delay, Duration::ZERO, "{text}");
        assert!(planned.outcome.subscriptions.is_empty(), "{text}");
        planned.outcome.message
    }

    #[test]
    fn requests_get_their_result_by_id() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[true,null]}}"#,
                result(json!(1), json!({"a": [true, null]})),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"x","method":"echo"}"#,
                result(json!("x"), Value::Null),
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"sum","params":{"a":10,"b":-4}}"#,
                result(Value::Null, json!(6)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"version"}"#,
                result(json!(2), json!({"major": 1})),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"boom","params":[1]}"#,
                json!({"jsonrpc": "2.0", "id": 3,
                       "error": {"code": -32001, "message": "Boom", "data": {"retry": false}}}),
            ),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"denied"}"#,
                error(json!(4), -32003, "Forbidden"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(reply_now(&mut c, text), Some(expected), "{text}");
        }
    }

    #[test]
    fn the_canonical_errors() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"#,
                error(Value::Null, -32700, "Parse error"),
            ),
            (
                r#""just a string""#,
                error(Value::Null, -32600, "Invalid Request"),
            ),
            ("[]", error(Value::Null, -32600, "Invalid Request")),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"echo"}"#,
                error(json!(1), -32600, "Invalid Request"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":{"n":1},"method":"echo"}"#,
                error(Value::Null, -32600, "Invalid Request"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"echo","params":"scalar"}"#,
                error(json!(4), -32600, "Invalid Request"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":5,"method":"nope"}"#,
                error(json!(5), -32601, "Method not found"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":6,"method":"sum","params":[1,"2"]}"#,
                error(json!(6), -32602, "Invalid params"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"sum","params":[true]}"#,
                error(json!(7), -32602, "Invalid params"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":8,"method":"sum"}"#,
                error(json!(8), -32602, "Invalid params"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"cancel","params":{"id":"x"}}"#,
                error(json!(9), -32602, "Invalid params"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":10,"method":"cancel","params":["a","b"]}"#,
                error(json!(10), -32602, "Invalid params"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(reply_now(&mut c, text), Some(expected), "{text}");
        }
    }

    #[test]
    fn notifications_change_counters_and_get_nothing() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        for text in [
            r#"{"jsonrpc":"2.0","method":"hit"}"#,
            r#"{"jsonrpc":"2.0","method":"hit","params":[]}"#,
            r#"{"jsonrpc":"2.0","method":"nope"}"#,
            r#"{"jsonrpc":"2.0","method":"sum","params":["a"]}"#,
            r#"{"jsonrpc":"2.0","method":"slow_echo","params":["quiet"]}"#,
            r#"{"jsonrpc":"2.0","method":"boom"}"#,
        ] {
            assert_eq!(reply_now(&mut c, text), None, "{text}");
        }
        assert_eq!(
            reply_now(&mut c, r#"{"jsonrpc":"2.0","id":1,"method":"hits"}"#),
            Some(result(json!(1), json!(2)))
        );
        assert_eq!(
            reply_now(&mut c, r#"{"jsonrpc":"2.0","id":2,"method":"hit"}"#),
            Some(result(json!(2), json!(3)))
        );
        // Another connection starts at 0.
        let mut other = Connection::new(&methods);
        assert_eq!(
            reply_now(&mut other, r#"{"jsonrpc":"2.0","id":1,"method":"hits"}"#),
            Some(result(json!(1), json!(0)))
        );
    }

    #[test]
    fn delayed_methods_are_due_later_errors_included() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let planned = c.receive(r#"{"jsonrpc":"2.0","id":1,"method":"slow_sum","params":[1,2]}"#);
        assert_eq!(planned.delay, Duration::from_millis(150));
        assert_eq!(planned.outcome.message, Some(result(json!(1), json!(3))));
        let planned = c.receive(r#"{"jsonrpc":"2.0","id":2,"method":"slow_sum","params":["x"]}"#);
        assert_eq!(planned.delay, Duration::from_millis(150));
        assert_eq!(
            planned.outcome.message,
            Some(error(json!(2), -32602, "Invalid params"))
        );
    }

    #[test]
    fn a_batch_answers_in_its_order_when_its_slowest_is_done() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let planned = c.receive(
            r#"[{"jsonrpc":"2.0","id":1,"method":"slow_echo","params":["slow"]},
                {"jsonrpc":"2.0","method":"hit"},
                {"foo":"bar"},
                {"jsonrpc":"2.0","id":"x","method":"missing"},
                {"jsonrpc":"2.0","id":3,"method":"hits"}]"#,
        );
        assert_eq!(planned.delay, Duration::from_millis(300));
        assert_eq!(
            planned.outcome.message,
            Some(json!([
                result(json!(1), json!(["slow"])),
                error(Value::Null, -32600, "Invalid Request"),
                error(json!("x"), -32601, "Method not found"),
                result(json!(3), json!(1)),
            ]))
        );
        assert_eq!(
            reply_now(&mut c, "[1,[]]"),
            Some(json!([
                error(Value::Null, -32600, "Invalid Request"),
                error(Value::Null, -32600, "Invalid Request"),
            ]))
        );
        // Only notifications: nothing at all, and a slow one holds nothing back.
        assert_eq!(
            reply_now(
                &mut c,
                r#"[{"jsonrpc":"2.0","method":"hit"},{"jsonrpc":"2.0","method":"slow_echo"}]"#
            ),
            None
        );
    }

    #[test]
    fn subscriptions_get_unique_ids_and_start_after_their_reply() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let planned = c.receive(
            r#"[{"jsonrpc":"2.0","id":1,"method":"ticks"},{"jsonrpc":"2.0","id":2,"method":"feed"}]"#,
        );
        let Some(Value::Array(replies)) = &planned.outcome.message else {
            panic!("a batch reply: {:?}", planned.outcome.message)
        };
        let ids: Vec<&str> = replies
            .iter()
            .filter_map(|r| r["result"].as_str())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        let started: Vec<&str> = planned
            .outcome
            .subscriptions
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        assert_eq!(started, ids);
        // Not running before the reply is sent: unsubscribing answers false.
        let cancel = format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"cancel","params":["{}"]}}"#,
            ids[1]
        );
        assert_eq!(
            reply_now(&mut c, &cancel),
            Some(result(json!(3), json!(false)))
        );
        let feed = ids[1].to_owned();
        c.start(planned.outcome.subscriptions);
        assert_eq!(c.running.len(), 2);
        assert_eq!(
            reply_now(&mut c, &cancel),
            Some(result(json!(3), json!(true)))
        );
        assert!(!c.running.contains_key(&feed));
        assert_eq!(
            reply_now(&mut c, &cancel),
            Some(result(json!(3), json!(false)))
        );
    }

    #[tokio::test]
    async fn items_are_numbered_stamped_and_stop_on_unsubscribe() {
        let methods = methods();
        let mut c = Connection::new(&methods);
        let planned = c.receive(r#"{"jsonrpc":"2.0","id":1,"method":"ticks"}"#);
        let id = planned.outcome.message.as_ref().expect("reply")["result"].clone();
        c.start(planned.outcome.subscriptions);
        let wait = Duration::from_secs(2);
        for n in 1..=2u64 {
            let item = tokio::time::timeout(wait, c.items.next())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(item.last, n == 2);
            let message = c.item_sent(item).message.expect("an item");
            assert_eq!(message["method"], "tick");
            assert_eq!(message["params"]["subscription"], id);
            assert_eq!(message["params"]["n"], n);
            assert!(message["params"]["ts_us"].as_u64().unwrap() > 1_000_000_000_000_000);
        }
        // Done after `count`: no longer running.
        assert!(c.running.is_empty());
        assert!(
            tokio::time::timeout(wait, c.items.next())
                .await
                .unwrap()
                .is_none()
        );

        let planned = c.receive(r#"{"jsonrpc":"2.0","id":2,"method":"feed"}"#);
        let feed = planned.outcome.message.as_ref().expect("reply")["result"].clone();
        c.start(planned.outcome.subscriptions);
        let item = tokio::time::timeout(wait, c.items.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            c.item_sent(item).message.expect("an item")["params"]["n"],
            1
        );
        let cancel = json!({"jsonrpc": "2.0", "id": 3, "method": "cancel", "params": [feed]});
        assert_eq!(
            reply_now(&mut c, &cancel.to_string()),
            Some(result(json!(3), json!(true)))
        );
        // The endless stream is over at once, before any further item.
        assert!(
            tokio::time::timeout(wait, c.items.next())
                .await
                .unwrap()
                .is_none()
        );
    }
}
