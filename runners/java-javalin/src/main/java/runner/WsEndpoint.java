package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsContext;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** One WebSocket handler: handshake rules, greeting, per-message behaviour (rpc: {@link RpcConnection}), server close and drop. */
final class WsEndpoint {
    private static final String SUBPROTOCOL_HEADER = "Sec-WebSocket-Protocol";

    private final String behavior;
    private final Schema schema;
    private final JsonNode greeting;
    private final List<String> subprotocols = new ArrayList<>();
    private final Map<String, String> authQuery = new LinkedHashMap<>();
    private final Map<String, String> authHeaders = new LinkedHashMap<>();
    private final int rejectStatus;
    private final JsonNode close;
    private final Integer dropAfter;
    /** Data messages answered so far, per open connection. */
    private final Map<String, Integer> answered = new ConcurrentHashMap<>();
    /** The declared methods of an {@code rpc} handler (null for the other behaviours). */
    private final JsonNode rpcMethods;
    private final long heartbeatMs;
    /** The open connections of an {@code rpc} handler. */
    private final Map<String, RpcConnection> rpcConnections = new ConcurrentHashMap<>();

    WsEndpoint(JsonNode handler) {
        behavior = handler.path("behavior").asText("echo");
        schema = handler.has("schema") ? Schemas.compile(handler.get("schema")) : null;
        greeting = handler.get("greeting");
        handler.path("subprotocols").forEach(p -> subprotocols.add(p.asText()));
        JsonNode auth = handler.get("auth");
        rejectStatus = auth == null ? 0 : auth.path("reject_status").asInt(403);
        if (auth != null) {
            auth.path("query").fields().forEachRemaining(e -> authQuery.put(e.getKey(), e.getValue().asText()));
            auth.path("headers").fields().forEachRemaining(e -> authHeaders.put(e.getKey(), e.getValue().asText()));
        }
        close = handler.get("close");
        dropAfter = handler.has("drop") ? handler.get("drop").path("after").asInt() : null;
        rpcMethods = behavior.equals("rpc") ? handler.path("methods") : null;
        heartbeatMs = handler.path("heartbeat_ms").asLong(0);
    }

    /** Before the upgrade: refuse it without the right credentials, pick the subprotocol. */
    void beforeUpgrade(Context ctx) {
        if (rejectStatus != 0) {
            boolean allowed = authQuery.entrySet().stream()
                    .allMatch(e -> Objects.equals(ctx.queryParam(e.getKey()), e.getValue()))
                    && authHeaders.entrySet().stream()
                    .allMatch(e -> Objects.equals(ctx.header(e.getKey()), e.getValue()));
            if (!allowed) {
                throw new HttpResponseException(rejectStatus, "upgrade refused");
            }
        }
        // Javalin echoes the client's first offer; the server picks the first offer it speaks.
        String chosen = Collections.list(ctx.req().getHeaders(SUBPROTOCOL_HEADER)).stream()
                .flatMap(value -> java.util.Arrays.stream(value.split(",")))
                .map(String::trim)
                .filter(subprotocols::contains)
                .findFirst()
                .orElse(null);
        ctx.res().setHeader(SUBPROTOCOL_HEADER, chosen);
    }

    void configure(WsConfig ws) {
        if (rpcMethods != null) {
            configureRpc(ws);
            return;
        }
        ws.onConnect(ctx -> {
            answered.put(ctx.sessionId(), 0);
            if (greeting != null) {
                send(ctx, greeting);
            }
            afterAnswering(ctx, 0);
        });
        ws.onMessage(ctx -> {
            switch (behavior) {
                case "echo" -> ctx.send(ctx.message());
                case "validate" -> ctx.send(Json.write(validate(ctx.message())));
                default -> { } // silent
            }
            answered(ctx);
        });
        ws.onBinaryMessage(ctx -> {
            switch (behavior) {
                case "echo" -> ctx.send(ByteBuffer.wrap(ctx.data(), ctx.offset(), ctx.length()));
                case "validate" -> ctx.send(Json.write(error("Unsupported message type")));
                default -> { } // silent
            }
            answered(ctx);
        });
        ws.onClose(ctx -> answered.remove(ctx.sessionId()));
        ws.onError(ctx -> answered.remove(ctx.sessionId()));
    }

    /** JSON-RPC 2.0 over the connection: see {@link RpcConnection}. */
    private void configureRpc(WsConfig ws) {
        ws.onConnect(ctx -> {
            RpcConnection connection = new RpcConnection(ctx, rpcMethods);
            rpcConnections.put(ctx.sessionId(), connection);
            if (heartbeatMs > 0) {
                connection.startHeartbeat(heartbeatMs);
            }
        });
        ws.onMessage(ctx -> withRpc(ctx, connection -> connection.onText(ctx.message())));
        ws.onBinaryMessage(ctx -> withRpc(ctx, RpcConnection::onBinary));
        ws.onClose(ctx -> closeRpc(ctx));
        ws.onError(ctx -> closeRpc(ctx));
    }

    private void withRpc(WsContext ctx, Consumer<RpcConnection> action) {
        RpcConnection connection = rpcConnections.get(ctx.sessionId());
        if (connection != null) {
            action.accept(connection);
        }
    }

    private void closeRpc(WsContext ctx) {
        RpcConnection connection = rpcConnections.remove(ctx.sessionId());
        if (connection != null) {
            connection.close();
        }
    }

    private void answered(WsContext ctx) {
        afterAnswering(ctx, answered.merge(ctx.sessionId(), 1, Integer::sum));
    }

    /** After the n-th data message has been answered: close or drop, if due (close wins). */
    private void afterAnswering(WsContext ctx, int n) {
        if (close != null && close.path("after").asInt() == n) {
            ctx.closeSession(close.path("code").asInt(), close.path("reason").asText(""));
        } else if (dropAfter != null && dropAfter == n) {
            ctx.session.disconnect();
        }
    }

    private static void send(WsContext ctx, JsonNode message) {
        if (message.has("text")) {
            ctx.send(message.get("text").asText());
        } else if (message.has("json")) {
            ctx.send(Json.write(message.get("json")));
        } else if (message.has("binary_base64")) {
            ctx.send(ByteBuffer.wrap(Base64.getDecoder().decode(message.get("binary_base64").asText())));
        }
    }

    private JsonNode validate(String text) {
        JsonNode value = Json.parse(text).orElse(null);
        if (value == null) {
            return error("Malformed message");
        }
        Map<String, String> errors = new TreeMap<>(); // one per pointer, sorted
        if (schema != null) {
            Schemas.errors(schema, value, errors::putIfAbsent);
        }
        if (errors.isEmpty()) {
            ObjectNode ack = Json.object().put("type", "ack");
            ack.set("message", value);
            return ack;
        }
        ObjectNode reply = error("Message validation failed");
        ArrayNode list = reply.putArray("errors");
        errors.forEach((pointer, message) -> list.addObject().put("pointer", pointer).put("message", message));
        return reply;
    }

    private static ObjectNode error(String title) {
        return Json.object().put("type", "error").put("title", title);
    }
}
