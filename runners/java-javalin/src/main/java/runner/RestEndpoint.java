package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.networknt.schema.Schema;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.servlet.JavalinServletContextKt;
import jakarta.servlet.http.Cookie;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import runner.Params.ParamSet;
import runner.Params.Property;
import runner.Problem.FieldError;
import runner.Problem.Location;

/** One REST handler: parameters, body, the order of checks and the reply. */
final class RestEndpoint implements Handler {
    /** Bodies of handlers without {@code max_bytes} are still bounded. */
    static final int DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

    private final ParamSet path;
    /** Whether the echo document has a {@code path} key (the route has captures). */
    private final boolean echoPath;
    private final ParamSet query;
    private final ParamSet headers;
    private final ParamSet cookies;
    private final BodyRule body;
    private final Reply reply;

    private record BodyRule(String media, boolean required, int maxBytes, Schema schema, ParamSet form) {}

    private record Reply(int status, Map<String, String> headers, List<String> cookies,
                         String contentType, byte[] body, boolean echo) {}

    RestEndpoint(JsonNode handler, Route route) {
        JsonNode params = handler.path("params");
        this.path = pathSet(route, params.get("path"));
        this.echoPath = !route.captures().isEmpty();
        this.query = optionalSet(Location.QUERY, params.get("query"));
        this.headers = optionalSet(Location.HEADERS, params.get("headers"));
        this.cookies = optionalSet(Location.COOKIES, params.get("cookies"));
        this.body = handler.has("body") ? bodyRule(handler.get("body")) : null;
        this.reply = reply(handler.path("response"));
    }

    private static ParamSet optionalSet(Location location, JsonNode schema) {
        return schema == null ? null : ParamSet.of(location, schema, true);
    }

    /** The path location: captures typed by the route, constrained further by {@code params.path}. */
    private static ParamSet pathSet(Route route, JsonNode declared) {
        if (route.captures().isEmpty() && declared == null) {
            return null;
        }
        JsonNode declaredProps = declared == null ? null : declared.get("properties");
        List<Property> properties = new ArrayList<>();
        ObjectNode schema = Json.object().put("type", "object");
        ObjectNode typeSchemas = schema.putObject("properties");
        for (Route.Capture capture : route.captures()) {
            JsonNode declaredProp = declaredProps == null ? null : declaredProps.get(capture.name());
            if (capture.type().equals("str") && declaredProp != null) {
                // An untyped capture takes the type params.path declares, if any.
                typeSchemas.putObject(capture.name());
                properties.add(Property.of(capture.name(), declaredProp));
            } else {
                JsonNode typeSchema = capture.jsonSchema();
                typeSchemas.set(capture.name(), typeSchema);
                properties.add(Property.of(capture.name(), typeSchema));
            }
            schema.withArray("required").add(capture.name());
        }
        if (declared != null) {
            schema.putArray("allOf").add(declared);
        }
        return new ParamSet(Location.PATH, properties, Schemas.compile(schema), false);
    }

    private static BodyRule bodyRule(JsonNode spec) {
        String media = spec.path("media").asText();
        JsonNode schema = spec.get("schema");
        return new BodyRule(
                media,
                spec.path("required").asBoolean(true),
                spec.has("max_bytes") ? spec.get("max_bytes").asInt() : DEFAULT_MAX_BODY_BYTES,
                schema == null ? null : Schemas.compile(schema),
                media.equals("form") ? ParamSet.of(Location.BODY, schema, false) : null);
    }

    private static Reply reply(JsonNode spec) {
        Map<String, String> headers = new LinkedHashMap<>();
        spec.path("headers").fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
        List<String> cookies = new ArrayList<>();
        spec.path("cookies").forEach(cookie -> cookies.add(setCookie(cookie)));
        String contentType = null;
        byte[] body = null;
        boolean echo = false;
        if (spec.has("json")) {
            contentType = "application/json";
            body = Json.bytes(spec.get("json"));
        } else if (spec.has("text")) {
            contentType = "text/plain; charset=utf-8";
            body = spec.get("text").asText().getBytes(StandardCharsets.UTF_8);
        } else if (spec.path("echo").asBoolean(false)) {
            contentType = "application/json";
            echo = true;
        }
        return new Reply(spec.path("status").asInt(200), headers, cookies, contentType, body, echo);
    }

    /** A Set-Cookie value, attributes in the canonical order. */
    private static String setCookie(JsonNode cookie) {
        StringBuilder out = new StringBuilder()
                .append(cookie.get("name").asText()).append('=').append(cookie.get("value").asText());
        if (cookie.has("path")) out.append("; Path=").append(cookie.get("path").asText());
        if (cookie.has("domain")) out.append("; Domain=").append(cookie.get("domain").asText());
        if (cookie.has("max_age")) out.append("; Max-Age=").append(cookie.get("max_age").asLong());
        if (cookie.path("http_only").asBoolean(false)) out.append("; HttpOnly");
        if (cookie.path("secure").asBoolean(false)) out.append("; Secure");
        if (cookie.has("same_site")) out.append("; SameSite=").append(cookie.get("same_site").asText());
        return out.toString();
    }

    @Override
    public void handle(Context ctx) throws IOException {
        List<FieldError> errors = new ArrayList<>();
        // 413, 415, 400: the body is checked before any parameter.
        JsonNode bodyValue = body == null ? null : readBody(ctx, errors);

        JsonNode pathValue = check(path, errors, () -> ctx.pathParamMap().entrySet().stream()
                .collect(LinkedHashMap::new, (m, e) -> m.put(e.getKey(), List.of(e.getValue())), Map::putAll));
        JsonNode queryValue = check(query, errors, ctx::queryParamMap);
        JsonNode headersValue = check(headers, errors, () -> requestHeaders(ctx));
        JsonNode cookiesValue = check(cookies, errors, () -> requestCookies(ctx));
        if (!errors.isEmpty()) {
            throw Problem.validationFailed(errors);
        }

        ctx.status(reply.status());
        if (reply.contentType() != null) {
            ctx.contentType(reply.contentType());
        }
        reply.headers().forEach(ctx::header);
        reply.cookies().forEach(cookie -> ctx.res().addHeader("Set-Cookie", cookie));
        if (reply.echo()) {
            ObjectNode doc = Json.object();
            if (echoPath) doc.set("path", pathValue);
            if (queryValue != null) doc.set("query", queryValue);
            if (headersValue != null) doc.set("headers", headersValue);
            if (cookiesValue != null) doc.set("cookies", cookiesValue);
            if (bodyValue != null) doc.set("body", bodyValue);
            ctx.result(Json.bytes(doc));
        } else if (reply.body() != null) {
            ctx.result(reply.body());
        }
    }

    private interface Source {
        Map<String, List<String>> values();
    }

    private static JsonNode check(ParamSet set, List<FieldError> errors, Source source) {
        if (set == null) {
            return null;
        }
        ObjectNode object = set.collect(source.values());
        set.validate(object, errors);
        return object;
    }

    /** The declared headers, every occurrence. */
    private Map<String, List<String>> requestHeaders(Context ctx) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        for (Property property : headers.properties) {
            values.put(property.name(), Collections.list(ctx.req().getHeaders(property.name())));
        }
        return values;
    }

    private static Map<String, List<String>> requestCookies(Context ctx) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        Cookie[] cookies = ctx.req().getCookies();
        if (cookies != null) {
            for (Cookie cookie : cookies) {
                values.computeIfAbsent(cookie.getName(), k -> new ArrayList<>()).add(cookie.getValue());
            }
        }
        return values;
    }

    /**
     * Reads, checks and decodes the body: the decoded body ({@code null} JSON when absent); a
     * missing required body or a schema violation is added to {@code errors}.
     */
    private JsonNode readBody(Context ctx, List<FieldError> errors) throws IOException {
        if (ctx.req().getContentLengthLong() > body.maxBytes()) {
            throw Problem.payloadTooLarge();
        }
        byte[] bytes = ctx.bodyInputStream().readNBytes(body.maxBytes() + 1);
        if (bytes.length > body.maxBytes()) {
            throw Problem.payloadTooLarge();
        }
        if (bytes.length == 0) {
            if (body.required()) {
                errors.add(new FieldError(Location.BODY, "", "a request body is required"));
            }
            return NullNode.getInstance();
        }
        if (!accepts(body.media(), ctx.header("Content-Type"))) {
            throw Problem.unsupportedMediaType();
        }
        JsonNode value = switch (body.media()) {
            case "json" -> Json.parse(bytes).orElseThrow(Problem::malformedBody);
            case "text" -> TextNode.valueOf(utf8(bytes));
            default -> body.form().collect(JavalinServletContextKt.splitKeyValueStringAndGroupByKey(utf8(bytes), "UTF-8"));
        };
        if (body.schema() != null) {
            Schemas.errors(body.schema(), value, (pointer, message) ->
                    errors.add(new FieldError(Location.BODY, pointer, message)));
        }
        return value;
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
     * urlencoded form type, or any {@code text/*}. Parameters are ignored; names are case-insensitive.
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
            default -> false;
        };
    }
}
