package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The pure rules of the {@code rpc} WebSocket handler (JSON-RPC 2.0, fixtures/README.md "RPC
 * handlers"): what makes a request valid, the sum of integer params, the reply objects.
 */
final class Rpc {
    /** JSON-RPC 2.0's error codes, with the exact messages the vocabulary sends. */
    enum Error {
        PARSE(-32700, "Parse error"),
        INVALID_REQUEST(-32600, "Invalid Request"),
        METHOD_NOT_FOUND(-32601, "Method not found"),
        INVALID_PARAMS(-32602, "Invalid params");

        final int code;
        final String message;

        Error(int code, String message) {
            this.code = code;
            this.message = message;
        }

        /** The whole error reply for a request with this id. */
        ObjectNode reply(JsonNode id) {
            return Rpc.error(id, Json.object().put("code", code).put("message", message));
        }
    }

    /** What {@link #parse} makes of one request object. */
    sealed interface Parsed permits Request, Invalid {}

    /**
     * A request that passed {@link #parse}: {@code id} is null for a notification (a JSON null id
     * is {@link NullNode}), {@code params} null when absent.
     */
    record Request(JsonNode id, String method, JsonNode params) implements Parsed {
        boolean isNotification() {
            return id == null;
        }
    }

    /** A request object that is not one; {@code id} is what its error reply carries. */
    record Invalid(JsonNode id) implements Parsed {}

    private Rpc() {}

    /** Checks one request object (a batch's element or a whole message). */
    static Parsed parse(JsonNode value) {
        if (value == null || !value.isObject()) {
            return new Invalid(NullNode.getInstance());
        }
        JsonNode id = value.get("id");
        JsonNode replyId = id != null && (id.isTextual() || id.isNumber()) ? id : NullNode.getInstance();
        boolean idOk = id == null || id.isTextual() || id.isNumber() || id.isNull();
        JsonNode params = value.get("params");
        boolean paramsOk = params == null || params.isArray() || params.isObject();
        JsonNode version = value.get("jsonrpc");
        JsonNode method = value.get("method");
        boolean versionOk = version != null && version.isTextual() && version.textValue().equals("2.0");
        if (versionOk && method != null && method.isTextual() && idOk && paramsOk) {
            return new Request(id, method.textValue(), params);
        }
        return new Invalid(replyId);
    }

    /**
     * The sum of the integers in params (an array, or an object's values); empty when params are
     * absent or hold anything else (a fraction, a bool, a string), or the sum leaves a long.
     */
    static OptionalLong sum(JsonNode params) {
        if (params == null || !(params.isArray() || params.isObject())) {
            return OptionalLong.empty();
        }
        List<JsonNode> values = new ArrayList<>();
        params.elements().forEachRemaining(values::add);
        long total = 0;
        for (JsonNode v : values) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                return OptionalLong.empty();
            }
            try {
                total = Math.addExact(total, v.longValue());
            } catch (ArithmeticException overflow) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.of(total);
    }

    /** {@code {"jsonrpc":"2.0","id":ID,"result":RESULT}}. */
    static ObjectNode result(JsonNode id, JsonNode result) {
        ObjectNode reply = Json.object().put("jsonrpc", "2.0");
        reply.set("id", id);
        reply.set("result", result);
        return reply;
    }

    /** {@code {"jsonrpc":"2.0","id":ID,"error":ERROR}}. */
    static ObjectNode error(JsonNode id, ObjectNode error) {
        ObjectNode reply = Json.object().put("jsonrpc", "2.0");
        reply.set("id", id);
        reply.set("error", error);
        return reply;
    }

    /** A server-sent notification: {@code {"jsonrpc":"2.0","method":METHOD}} plus params if any. */
    static ObjectNode notification(String method, JsonNode params) {
        ObjectNode message = Json.object().put("jsonrpc", "2.0").put("method", method);
        if (params != null) {
            message.set("params", params);
        }
        return message;
    }
}
