package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.networknt.schema.Schema;
import io.javalin.http.Context;
import io.javalin.http.servlet.JavalinServletContextKt;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import runner.Params.ParamSet;
import runner.Problem.FieldError;
import runner.Problem.Location;

/**
 * A handler's {@code body}: reading, decoding and checking a request body in the order of checks
 * (413, 415, 400, then 422 entries for the caller's list).
 */
final class RequestBody {
    /** Bodies of handlers without {@code max_bytes} are still bounded. */
    static final int DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

    private final String media;
    private final boolean required;
    private final int maxBytes;
    private final Schema schema;
    /** {@code form} only. */
    private final ParamSet form;
    /** {@code multipart} only. */
    private final Multipart multipart;
    /** The Content-Encodings decoded ({@code content_encodings}); identity is always accepted. */
    private final List<String> encodings = new ArrayList<>();

    RequestBody(JsonNode spec) {
        media = spec.path("media").asText();
        required = spec.path("required").asBoolean(true);
        // One byte is read past the limit to tell a body at the limit from a longer one.
        maxBytes = spec.has("max_bytes") ? (int) Math.min(spec.get("max_bytes").asLong(), Integer.MAX_VALUE - 1)
                : DEFAULT_MAX_BODY_BYTES;
        JsonNode schemaSpec = spec.get("schema");
        schema = schemaSpec == null ? null : Schemas.compile(schemaSpec);
        form = media.equals("form") ? ParamSet.of(Location.BODY, schemaSpec, false) : null;
        multipart = media.equals("multipart") ? new Multipart(schemaSpec, schema, spec.path("files"), maxBytes) : null;
        spec.path("content_encodings").forEach(coding -> encodings.add(coding.asText()));
    }

    /**
     * Reads, decodes and checks the body: its value ({@code null} JSON when absent); a missing
     * required body or a schema violation is added to {@code errors}.
     */
    JsonNode read(Context ctx, List<FieldError> errors) throws IOException {
        long length = ctx.req().getContentLengthLong();
        if (length == 0) {
            return absent(errors);
        }
        List<String> codings = ContentCodings.of(ctx.req().getHeaders("Content-Encoding"));
        if (!encodings.containsAll(codings) || !codings.stream().allMatch(ContentCodings::decodable)) {
            throw Problem.unsupportedEncoding(encodings.isEmpty() ? "identity" : String.join(", ", encodings));
        }
        if (codings.isEmpty() && length > maxBytes) {
            throw Problem.payloadTooLarge();
        }
        String contentType = ctx.header("Content-Type");
        if (multipart != null && codings.isEmpty() && length > 0 && accepts(media, contentType)) {
            return multipart.fromRequest(ctx, errors);
        }
        byte[] bytes = codings.isEmpty() ? ctx.bodyInputStream().readNBytes(maxBytes + 1) : decoded(ctx, codings);
        if (bytes.length > maxBytes) {
            throw Problem.payloadTooLarge();
        }
        if (bytes.length == 0) {
            return absent(errors);
        }
        if (!accepts(media, contentType)) {
            throw Problem.unsupportedMediaType();
        }
        if (multipart != null) {
            return multipart.fromBytes(bytes, contentType, errors);
        }
        JsonNode value = switch (media) {
            case "json" -> Json.parse(bytes).orElseThrow(Problem::malformedBody);
            case "text" -> TextNode.valueOf(utf8(bytes));
            default -> form.collect(JavalinServletContextKt.splitKeyValueStringAndGroupByKey(utf8(bytes), "UTF-8"));
        };
        if (schema != null) {
            Schemas.errors(schema, value, (pointer, message) ->
                    errors.add(new FieldError(Location.BODY, pointer, message)));
        }
        return value;
    }

    private JsonNode absent(List<FieldError> errors) {
        if (required) {
            errors.add(new FieldError(Location.BODY, "", "a request body is required"));
        }
        return NullNode.getInstance();
    }

    /** The decoded body, at most {@code maxBytes + 1} bytes of it; a body that does not decode is 400. */
    private byte[] decoded(Context ctx, List<String> codings) {
        try {
            return ContentCodings.decode(ctx.bodyInputStream(), codings, maxBytes);
        } catch (IOException e) {
            throw Problem.malformedBody();
        }
    }

    private static String utf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw Problem.malformedBody();
        }
    }

    /**
     * Whether a content type fits a media: {@code application/json} or {@code *}{@code /*+json}, the
     * urlencoded form type, any {@code text/*}, or {@code multipart/form-data}. Parameters are
     * ignored; names are case-insensitive.
     */
    static boolean accepts(String media, String contentType) {
        if (contentType == null) {
            return false;
        }
        String essence = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        int slash = essence.indexOf('/');
        if (slash <= 0 || slash == essence.length() - 1) {
            return false;
        }
        String type = essence.substring(0, slash);
        String subtype = essence.substring(slash + 1);
        return switch (media) {
            case "json" -> essence.equals("application/json") || (subtype.endsWith("+json") && subtype.length() > 5);
            case "form" -> essence.equals("application/x-www-form-urlencoded");
            case "text" -> type.equals("text");
            case "multipart" -> Multipart.accepts(essence);
            default -> false;
        };
    }
}
