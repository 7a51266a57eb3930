package runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@code response.stream}: items written one by one to the response's output stream, each
 * flushed, {@code interval_ms} apart. The reply is committed before the first item, so Jetty sends
 * it without {@code Content-Length} (chunked on HTTP/1.1), even when there is no item.
 *
 * <p>Javalin's {@code ctx.outputStream()} (its CompressedOutputStream) does not pass
 * {@code flush()} on, so the items would leave in one piece at the end; the servlet response's
 * stream (Jetty's HttpOutput) is written instead, as Javalin's own SSE emitter does.
 */
final class StreamReply {
    private final List<byte[]> items = new ArrayList<>();
    private final long intervalMs;

    StreamReply(JsonNode spec) {
        String format = spec.path("format").asText();
        for (JsonNode item : spec.path("items")) {
            String text = switch (format) {
                case "ndjson" -> Json.write(item) + "\n";
                case "csv" -> csvLine(item);
                default -> item.asText();
            };
            items.add(text.getBytes(StandardCharsets.UTF_8));
        }
        intervalMs = spec.path("interval_ms").asLong(0);
    }

    /** The content type of a stream's format. */
    static String contentType(JsonNode spec) {
        return switch (spec.path("format").asText()) {
            case "ndjson" -> "application/x-ndjson";
            case "csv" -> "text/csv; charset=utf-8";
            default -> "text/plain; charset=utf-8";
        };
    }

    /** One RFC 4180 record and its CRLF: numbers and booleans as their JSON text. */
    static String csvLine(JsonNode fields) {
        StringBuilder line = new StringBuilder();
        for (JsonNode field : fields) {
            if (line.length() > 0) {
                line.append(',');
            }
            String text = field.isTextual() ? field.asText() : Json.write(field);
            if (text.chars().anyMatch(c -> c == ',' || c == '"' || c == '\r' || c == '\n')) {
                line.append('"').append(text.replace("\"", "\"\"")).append('"');
            } else {
                line.append(text);
            }
        }
        return line.append("\r\n").toString();
    }

    /** Writes the items; status and headers are already set. Stops if the client leaves. */
    void write(Context ctx) {
        try {
            OutputStream out = ctx.res().getOutputStream();
            ctx.res().flushBuffer(); // commits the head: no Content-Length from here on
            for (int i = 0; i < items.size(); i++) {
                if (i > 0 && intervalMs > 0) {
                    Thread.sleep(intervalMs);
                }
                out.write(items.get(i));
                out.flush();
            }
        } catch (IOException gone) {
            // the client left
        } catch (InterruptedException stopping) {
            Thread.currentThread().interrupt(); // the server is stopping
        }
    }
}
