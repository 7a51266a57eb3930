package runner;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A canonical error reply (RFC 9457 problem details, as in fixtures/README.md), thrown by a handler
 * and written by the exception handler registered in {@link Main}.
 */
final class Problem extends RuntimeException {
    /** A parameter location, declared in the order errors are sorted by. */
    enum Location {
        PATH, QUERY, HEADERS, COOKIES, BODY;

        String key() {
            return name().toLowerCase();
        }
    }

    /** One entry of a 422 reply. */
    record FieldError(Location location, String pointer, String message) {}

    private static final String PAYLOAD_TOO_LARGE =
            "{\"type\":\"urn:benchmark-harness:payload-too-large\",\"title\":\"Payload too large\",\"status\":413}";
    private static final String UNSUPPORTED_MEDIA_TYPE =
            "{\"type\":\"urn:benchmark-harness:unsupported-media-type\",\"title\":\"Unsupported media type\",\"status\":415}";
    private static final String MALFORMED_BODY =
            "{\"type\":\"urn:benchmark-harness:malformed-body\",\"title\":\"Malformed request body\",\"status\":400}";

    private final int status;
    private final String body;
    /** Extra reply headers (the 415 for an unsupported Content-Encoding names what is accepted). */
    private final Map<String, String> headers;

    private Problem(int status, String body) {
        this(status, body, Map.of());
    }

    private Problem(int status, String body, Map<String, String> headers) {
        super(null, null, false, false); // control flow, no stack trace
        this.status = status;
        this.body = body;
        this.headers = headers;
    }

    static Problem payloadTooLarge() {
        return new Problem(413, PAYLOAD_TOO_LARGE);
    }

    static Problem unsupportedMediaType() {
        return new Problem(415, UNSUPPORTED_MEDIA_TYPE);
    }

    /**
     * 415 for a Content-Encoding the handler does not decode, with {@code Accept-Encoding} naming
     * the codings it does (RFC 9110 section 15.5.16).
     */
    static Problem unsupportedEncoding(String acceptEncoding) {
        return new Problem(415, UNSUPPORTED_MEDIA_TYPE, Map.of("Accept-Encoding", acceptEncoding));
    }

    static Problem malformedBody() {
        return new Problem(400, MALFORMED_BODY);
    }

    /** 422: errors sorted by location then pointer, one per (location, pointer), the first found. */
    static Problem validationFailed(List<FieldError> errors) {
        List<FieldError> sorted = new ArrayList<>(errors);
        sorted.sort(Comparator.comparing(FieldError::location).thenComparing(FieldError::pointer));
        ArrayNode entries = Json.MAPPER.createArrayNode();
        FieldError previous = null;
        for (FieldError error : sorted) {
            if (previous != null && previous.location() == error.location()
                    && previous.pointer().equals(error.pointer())) {
                continue;
            }
            previous = error;
            entries.addObject()
                    .put("in", error.location().key())
                    .put("pointer", error.pointer())
                    .put("message", error.message());
        }
        ObjectNode body = Json.object()
                .put("type", "urn:benchmark-harness:validation-error")
                .put("title", "Request validation failed")
                .put("status", 422);
        body.set("errors", entries);
        return new Problem(422, Json.write(body));
    }

    void writeTo(Context ctx) {
        headers.forEach(ctx::header);
        ctx.status(status).contentType("application/problem+json").result(body);
    }
}
