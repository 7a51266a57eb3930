package runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One SSE handler, written straight to the response in the exact wire format (Javalin's SseClient
 * always adds an {@code event:} line and cannot write {@code retry:} or an empty {@code data:} line).
 */
final class SseEndpoint implements Handler {
    /** A listed item: its id (null for comments and id-less events) and its pre-rendered wire text. */
    private record Item(String id, byte[] wire) {}

    private static final long HEARTBEAT_SECONDS = 5;
    private static final byte[] KEEP_ALIVE = ": keep-alive\n\n".getBytes(StandardCharsets.UTF_8);
    private static final ScheduledExecutorService HEARTBEAT = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "sse-heartbeat");
        thread.setDaemon(true);
        return thread;
    });

    private final List<Item> items = new ArrayList<>();
    private final boolean counter;
    /** null: without end. */
    private final Long count;
    private final String counterEvent;
    private final String timestampField;
    private final long intervalMs;
    private final boolean resume;
    private final boolean hold;

    SseEndpoint(JsonNode handler) {
        handler.path("events").forEach(item -> items.add(new Item(
                item.has("comment") ? null : textOrNull(item.get("id")),
                render(item).getBytes(StandardCharsets.UTF_8))));
        JsonNode c = handler.get("counter");
        counter = c != null;
        count = c == null || c.path("count").isNull() ? null : c.path("count").asLong();
        counterEvent = c == null ? null : textOrNull(c.get("event"));
        timestampField = c == null ? null : textOrNull(c.get("timestamp_field"));
        intervalMs = handler.path("interval_ms").asLong(0);
        resume = handler.path("resume").asBoolean(false);
        hold = handler.path("end").asText("close").equals("hold");
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    /** The wire text of one listed item. */
    static String render(JsonNode item) {
        if (item.has("comment")) {
            return ": " + item.get("comment").asText() + "\n\n";
        }
        StringBuilder out = new StringBuilder();
        if (item.has("id")) out.append("id: ").append(item.get("id").asText()).append('\n');
        if (item.has("event")) out.append("event: ").append(item.get("event").asText()).append('\n');
        if (item.has("retry")) out.append("retry: ").append(item.get("retry").asLong()).append('\n');
        if (item.has("data")) {
            for (String line : item.get("data").asText().split("\r\n|\r|\n", -1)) {
                out.append("data: ").append(line).append('\n');
            }
        } else if (item.has("json")) {
            out.append("data: ").append(Json.write(item.get("json"))).append('\n');
        }
        return out.append('\n').toString();
    }

    private byte[] counterEvent(long n) {
        StringBuilder out = new StringBuilder("id: ").append(n).append('\n');
        if (counterEvent != null) out.append("event: ").append(counterEvent).append('\n');
        out.append("data: {\"n\":").append(n);
        if (timestampField != null) {
            long micros = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
            out.append(',').append(Json.write(Json.MAPPER.getNodeFactory().textNode(timestampField)))
                    .append(':').append(micros);
        }
        return out.append("}\n\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    private boolean hasCount(long n) {
        return counter && (count == null || n <= count);
    }

    @Override
    public void handle(Context ctx) throws Exception {
        // Where the stream starts: after the item named by Last-Event-ID, if resuming.
        int index = 0;
        long n = 1;
        String last = resume ? ctx.header("Last-Event-ID") : null;
        if (last != null) {
            int found = -1;
            for (int i = 0; i < items.size() && found < 0; i++) {
                if (last.equals(items.get(i).id())) found = i;
            }
            if (found >= 0) {
                index = found + 1;
            } else if (last.matches("[1-9][0-9]{0,17}") && hasCount(Long.parseLong(last))) {
                index = items.size();
                n = Long.parseLong(last) + 1;
            }
        }

        ctx.status(200);
        ctx.res().setContentType("text/event-stream");
        ctx.res().setHeader("Cache-Control", "no-cache");
        OutputStream out = ctx.res().getOutputStream();
        ctx.res().flushBuffer();
        boolean first = true;
        try {
            while (index < items.size() || hasCount(n)) {
                if (!first && intervalMs > 0) {
                    Thread.sleep(intervalMs);
                }
                first = false;
                out.write(index < items.size() ? items.get(index++).wire() : counterEvent(n++));
                out.flush();
            }
        } catch (IOException gone) {
            return; // the client left
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt(); // the server is stopping
            return;
        }
        if (hold) {
            holdOpen(ctx, out);
        }
    }

    /**
     * Keeps the reply open, without a thread, until the client leaves or the server stops. A write
     * is the only way to notice a departed client, so a comment line goes out every few seconds.
     */
    private static void holdOpen(Context ctx, OutputStream out) {
        CompletableFuture<Void> open = new CompletableFuture<>();
        ScheduledFuture<?> heartbeat = HEARTBEAT.scheduleAtFixedRate(() -> {
            try {
                out.write(KEEP_ALIVE);
                out.flush();
            } catch (IOException | RuntimeException gone) {
                open.complete(null);
            }
        }, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS, TimeUnit.SECONDS);
        open.whenComplete((done, error) -> heartbeat.cancel(false));
        ctx.future(() -> open);
    }
}
