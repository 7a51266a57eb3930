package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.javalin.websocket.WsContext;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One open connection of an {@code rpc} handler: its counters, subscriptions and timers, and the
 * one writer of its socket. Requests are served as they arrive, on Jetty's thread; delayed replies,
 * subscription items and heartbeats run on a shared timer pool, and every send takes the
 * connection's write lock, so one message is written at a time. {@link #close} stops them all.
 */
final class RpcConnection {
    /** Delayed replies, subscription items and heartbeats of every connection. */
    private static final ScheduledExecutorService TIMERS = timers();
    private static final ObjectNode HEARTBEAT = Rpc.notification("heartbeat", null);

    /** What serving one request ends in: the reply (null: none) and what follows its sending. */
    private record Outcome(JsonNode reply, Runnable afterSend) {
        static Outcome of(JsonNode reply) {
            return new Outcome(reply, () -> { });
        }
    }

    private final WsContext ctx;
    private final JsonNode methods;
    private final Object writer = new Object();
    private volatile boolean open = true;
    private final Map<String, AtomicLong> counters = new ConcurrentHashMap<>();
    private final Map<String, Subscription> subscriptions = new ConcurrentHashMap<>();
    private final Set<ScheduledFuture<?>> pending = ConcurrentHashMap.newKeySet();
    private final AtomicLong subscriptionIds = new AtomicLong();

    RpcConnection(WsContext ctx, JsonNode methods) {
        this.ctx = ctx;
        this.methods = methods;
    }

    private static ScheduledExecutorService timers() {
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(4, task -> {
            Thread thread = new Thread(task, "rpc-timer");
            thread.setDaemon(true);
            return thread;
        });
        pool.setRemoveOnCancelPolicy(true);
        return pool;
    }

    /** Heartbeat notifications every {@code everyMs}, from now until the connection closes. */
    void startHeartbeat(long everyMs) {
        track(TIMERS.scheduleAtFixedRate(() -> send(HEARTBEAT), everyMs, everyMs, TimeUnit.MILLISECONDS));
    }

    /** A text message: one request or a batch. */
    void onText(String text) {
        JsonNode value = Json.parse(text).orElse(null);
        if (value == null) {
            send(Rpc.Error.PARSE.reply(NullNode.getInstance()));
        } else if (value.isArray() && !value.isEmpty()) {
            serveBatch(value);
        } else {
            finish(serve(value));
        }
    }

    /** A binary message is not JSON-RPC text. */
    void onBinary() {
        send(Rpc.Error.PARSE.reply(NullNode.getInstance()));
    }

    /** Stops every timer, subscription and heartbeat of the connection; nothing is sent after. */
    void close() {
        synchronized (writer) {
            open = false;
        }
        subscriptions.values().forEach(Subscription::stop);
        subscriptions.clear();
        pending.forEach(timer -> timer.cancel(false));
        pending.clear();
    }

    private void finish(CompletableFuture<Outcome> served) {
        served.thenAccept(outcome -> {
            if (outcome.reply() != null) {
                send(outcome.reply());
            }
            outcome.afterSend().run();
        });
    }

    /** Serves the elements at once; when all are done, their replies go out as one array. */
    private void serveBatch(JsonNode batch) {
        List<CompletableFuture<Outcome>> parts = new ArrayList<>();
        batch.forEach(element -> parts.add(serve(element)));
        CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenRun(() -> {
            ArrayNode replies = Json.MAPPER.createArrayNode();
            parts.forEach(part -> {
                JsonNode reply = part.join().reply();
                if (reply != null) {
                    replies.add(reply);
                }
            });
            if (!replies.isEmpty()) {
                send(replies);
            }
            parts.forEach(part -> part.join().afterSend().run());
        });
    }

    /** Serves one request object (of a batch or alone); its effect happens now. */
    private CompletableFuture<Outcome> serve(JsonNode value) {
        Rpc.Parsed parsed = Rpc.parse(value);
        if (parsed instanceof Rpc.Invalid invalid) {
            return done(Rpc.Error.INVALID_REQUEST.reply(invalid.id()));
        }
        Rpc.Request request = (Rpc.Request) parsed;
        JsonNode method = methods.get(request.method());
        Outcome outcome;
        long delayMs = 0;
        if (method == null) {
            outcome = Outcome.of(Rpc.Error.METHOD_NOT_FOUND.reply(request.id()));
        } else if (method.has("reply")) {
            outcome = Outcome.of(reply(method.get("reply"), request));
            delayMs = method.path("delay_ms").asLong(0);
        } else if (method.has("notify")) {
            long hits = counter(method.get("notify").asText()).incrementAndGet();
            outcome = Outcome.of(Rpc.result(request.id(), LongNode.valueOf(hits)));
        } else if (method.has("subscribe")) {
            outcome = subscribe(method.get("subscribe"), request);
        } else if (method.has("unsubscribe")) {
            outcome = Outcome.of(unsubscribe(request));
        } else {
            outcome = Outcome.of(Rpc.error(request.id(), method.get("fail").deepCopy()));
        }
        if (request.isNotification()) {
            outcome = new Outcome(null, outcome.afterSend()); // never a reply, not even an error
        }
        return delayMs > 0 ? later(outcome, delayMs) : CompletableFuture.completedFuture(outcome);
    }

    private static CompletableFuture<Outcome> done(JsonNode reply) {
        return CompletableFuture.completedFuture(Outcome.of(reply));
    }

    /** The outcome, {@code delayMs} from now (never, if the connection closes first). */
    private CompletableFuture<Outcome> later(Outcome outcome, long delayMs) {
        CompletableFuture<Outcome> result = new CompletableFuture<>();
        ScheduledFuture<?> timer = TIMERS.schedule(() -> result.complete(outcome), delayMs, TimeUnit.MILLISECONDS);
        track(timer);
        result.whenComplete((done, error) -> pending.remove(timer));
        return result;
    }

    /** The reply of a {@code reply} method: params, their sum, a counter or a constant. */
    private JsonNode reply(JsonNode spec, Rpc.Request request) {
        if (spec.isTextual() && spec.textValue().equals("sum")) {
            OptionalLong sum = Rpc.sum(request.params());
            return sum.isPresent()
                    ? Rpc.result(request.id(), LongNode.valueOf(sum.getAsLong()))
                    : Rpc.Error.INVALID_PARAMS.reply(request.id());
        }
        JsonNode result;
        if (spec.isTextual()) { // "params"
            result = request.params() == null ? NullNode.getInstance() : request.params();
        } else if (spec.has("counter")) {
            result = LongNode.valueOf(counter(spec.get("counter").asText()).get());
        } else {
            result = spec.get("value");
        }
        return Rpc.result(request.id(), result);
    }

    private AtomicLong counter(String name) {
        return counters.computeIfAbsent(name, n -> new AtomicLong());
    }

    /** Registers a subscription now; its items start once its reply has been sent. */
    private Outcome subscribe(JsonNode spec, Rpc.Request request) {
        String id = "sub-" + subscriptionIds.incrementAndGet();
        Subscription subscription = new Subscription(id, spec);
        subscriptions.put(id, subscription);
        return new Outcome(Rpc.result(request.id(), TextNode.valueOf(id)), subscription::start);
    }

    /** Stops the subscription {@code params[0]} names: true if it was running. */
    private JsonNode unsubscribe(Rpc.Request request) {
        JsonNode params = request.params();
        if (params == null || !params.isArray() || params.size() != 1 || !params.get(0).isTextual()) {
            return Rpc.Error.INVALID_PARAMS.reply(request.id());
        }
        Subscription stopped = subscriptions.remove(params.get(0).textValue());
        if (stopped != null) {
            stopped.stop();
        }
        return Rpc.result(request.id(), BooleanNode.valueOf(stopped != null));
    }

    private void track(ScheduledFuture<?> timer) {
        pending.add(timer);
        if (!open) {
            timer.cancel(false); // closed meanwhile
        }
    }

    /** Writes one message, one writer at a time; nothing once the connection is closed. */
    private void send(JsonNode message) {
        String text = Json.write(message);
        synchronized (writer) {
            if (!open) {
                return;
            }
            try {
                ctx.send(text);
            } catch (Exception gone) {
                open = false; // the peer left: Javalin's onClose/onError follows
            }
        }
    }

    /** One subscription's items: {@code n} = 1, 2, ... every {@code interval_ms}. */
    private final class Subscription {
        private final String id;
        private final Long count;
        private final long intervalMs;
        private final String notification;
        private final String timestampField;
        private long n;
        private boolean active = true;
        private ScheduledFuture<?> timer;

        Subscription(String id, JsonNode spec) {
            this.id = id;
            count = spec.path("count").isNull() || spec.path("count").isMissingNode() ? null : spec.get("count").asLong();
            intervalMs = Math.max(1, spec.path("interval_ms").asLong(0));
            notification = spec.path("notification").asText();
            JsonNode field = spec.get("timestamp_field");
            timestampField = field == null || field.isNull() ? null : field.asText();
        }

        synchronized void start() {
            if (!active || !open) {
                return;
            }
            if (count != null && count == 0) {
                finished();
                return;
            }
            timer = TIMERS.scheduleWithFixedDelay(this::tick, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
        }

        synchronized void stop() {
            active = false;
            if (timer != null) {
                timer.cancel(false);
            }
        }

        private void finished() {
            stop();
            subscriptions.remove(id, this);
        }

        /** Sends the next item under the write lock, so none follows the reply to its unsubscribe. */
        private void tick() {
            boolean last;
            synchronized (writer) {
                synchronized (this) {
                    if (!active || !open) {
                        stop(); // unsubscribed, or the connection closed while it started
                        return;
                    }
                    n++;
                    last = count != null && n >= count;
                }
                send(item(n));
            }
            if (last) {
                finished();
            }
        }

        private ObjectNode item(long number) {
            ObjectNode params = Json.object().put("subscription", id).put("n", number);
            if (timestampField != null) {
                params.put(timestampField, ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()));
            }
            return Rpc.notification(notification, params);
        }
    }
}
