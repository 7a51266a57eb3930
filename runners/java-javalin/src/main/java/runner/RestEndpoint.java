package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import jakarta.servlet.http.Cookie;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import runner.Params.ParamSet;
import runner.Params.Property;
import runner.Problem.FieldError;
import runner.Problem.Location;

/** One REST handler: parameters, body, the order of checks and the reply. */
final class RestEndpoint implements Handler {
    private final ParamSet path;
    /** Whether the echo document has a {@code path} key (the route has captures). */
    private final boolean echoPath;
    private final ParamSet query;
    private final ParamSet headers;
    private final ParamSet cookies;
    private final RequestBody body;
    private final Reply reply;

    /** The reply: at most one of a fixed body, the echo, or a stream; {@code compress} may be null. */
    private record Reply(int status, Map<String, String> headers, List<String> cookies,
                         String contentType, byte[] body, boolean echo, StreamReply stream, Compression compress) {}

    RestEndpoint(JsonNode handler, Route route) {
        JsonNode params = handler.path("params");
        this.path = pathSet(route, params.get("path"));
        this.echoPath = !route.captures().isEmpty();
        this.query = optionalSet(Location.QUERY, params.get("query"));
        this.headers = optionalSet(Location.HEADERS, params.get("headers"));
        this.cookies = optionalSet(Location.COOKIES, params.get("cookies"));
        this.body = handler.has("body") ? new RequestBody(handler.get("body")) : null;
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
        } else if (spec.has("stream")) {
            contentType = StreamReply.contentType(spec.get("stream"));
        }
        StreamReply stream = spec.has("stream") ? new StreamReply(spec.get("stream")) : null;
        Compression compress = spec.has("compress") ? new Compression(spec.get("compress")) : null;
        return new Reply(spec.path("status").asInt(200), headers, cookies, contentType, body, echo, stream, compress);
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
        if (reply.compress() != null) {
            Vary.add(ctx, "Accept-Encoding"); // on every reply of the handler, errors included
        }
        List<FieldError> errors = new ArrayList<>();
        // 413, 415, 400: the body is checked before any parameter.
        JsonNode bodyValue = body == null ? null : body.read(ctx, errors);

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
        reply.headers().forEach(ctx::header); // may name another content type
        reply.cookies().forEach(cookie -> ctx.res().addHeader("Set-Cookie", cookie));
        if (reply.stream() != null) {
            reply.stream().write(ctx);
            return;
        }
        byte[] bytes = reply.body();
        if (reply.echo()) {
            ObjectNode doc = Json.object();
            if (echoPath) doc.set("path", pathValue);
            if (queryValue != null) doc.set("query", queryValue);
            if (headersValue != null) doc.set("headers", headersValue);
            if (cookiesValue != null) doc.set("cookies", cookiesValue);
            if (bodyValue != null) doc.set("body", bodyValue);
            bytes = Json.bytes(doc);
        }
        if (bytes != null) {
            ctx.result(encoded(ctx, bytes));
        }
    }

    /** The body as sent: encoded when the handler compresses, it is long enough and the client accepts a coding. */
    private byte[] encoded(Context ctx, byte[] bytes) {
        if (reply.compress() == null || reply.status() >= 400) {
            return bytes; // error replies are never encoded
        }
        String coding = reply.compress().choose(ctx.header("Accept-Encoding"), bytes.length);
        if (coding == null) {
            return bytes;
        }
        ctx.header("Content-Encoding", coding);
        return Compression.encode(coding, bytes);
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
}
