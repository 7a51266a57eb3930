package runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A handler's {@code cors}, served by a before-handler on its route (headers of actual requests)
 * and an {@code OPTIONS} endpoint (preflights).
 *
 * <p>Javalin's CorsPlugin cannot honour the vocabulary: it echoes whatever method and headers a
 * preflight asks for instead of checking them against lists, answers an allowed preflight with
 * 200 and a refused origin with 400 (not 204 and 403), and refuses {@code anyHost()} with
 * credentials instead of reflecting the origin.
 */
final class Cors {
    private final List<String> origins = new ArrayList<>();
    private final boolean anyOrigin;
    private final List<String> methods = new ArrayList<>();
    /** Lower-case, as the schema writes them. */
    private final List<String> headers = new ArrayList<>();
    private final List<String> exposeHeaders = new ArrayList<>();
    private final Integer maxAge;
    private final boolean credentials;

    Cors(JsonNode spec) {
        spec.path("allow_origins").forEach(o -> origins.add(o.asText()));
        anyOrigin = origins.contains("*");
        spec.path("allow_methods").forEach(m -> methods.add(m.asText()));
        spec.path("allow_headers").forEach(h -> headers.add(h.asText().toLowerCase(Locale.ROOT)));
        spec.path("expose_headers").forEach(h -> exposeHeaders.add(h.asText()));
        maxAge = spec.has("max_age") ? spec.get("max_age").asInt() : null;
        credentials = spec.path("allow_credentials").asBoolean(false);
    }

    /** A preflight: OPTIONS with {@code Origin} and {@code Access-Control-Request-Method}. */
    static boolean isPreflight(Context ctx) {
        return ctx.method() == HandlerType.OPTIONS && ctx.header("Origin") != null
                && ctx.header("Access-Control-Request-Method") != null;
    }

    /** Before any other request on the route: the reply's CORS headers, for an allowed origin. */
    void onRequest(Context ctx) {
        String origin = ctx.header("Origin");
        if (isPreflight(ctx) || !allowed(origin)) {
            return;
        }
        allowOrigin(ctx, origin);
        if (!exposeHeaders.isEmpty()) {
            ctx.header("Access-Control-Expose-Headers", String.join(", ", exposeHeaders));
        }
    }

    /** A preflight: 204 with the lists when origin, method and headers are allowed, else 403. */
    void onPreflight(Context ctx) {
        String origin = ctx.header("Origin");
        String method = ctx.header("Access-Control-Request-Method");
        if (!allowed(origin) || !methods.contains(method) || !headersAllowed(ctx.header("Access-Control-Request-Headers"))) {
            ctx.status(403);
            return;
        }
        ctx.status(204);
        allowOrigin(ctx, origin);
        ctx.header("Access-Control-Allow-Methods", String.join(", ", methods));
        if (!headers.isEmpty()) {
            ctx.header("Access-Control-Allow-Headers", String.join(", ", headers));
        }
        if (maxAge != null) {
            ctx.header("Access-Control-Max-Age", maxAge.toString());
        }
    }

    private boolean allowed(String origin) {
        return origin != null && (anyOrigin || origins.contains(origin));
    }

    private boolean headersAllowed(String requested) {
        return requested == null || Arrays.stream(requested.split(","))
                .map(name -> name.trim().toLowerCase(Locale.ROOT))
                .allMatch(name -> name.isEmpty() || headers.contains(name));
    }

    /** {@code Access-Control-Allow-Origin} (and credentials) and {@code Vary: Origin}. */
    private void allowOrigin(Context ctx, String origin) {
        ctx.header("Access-Control-Allow-Origin", anyOrigin && !credentials ? "*" : origin);
        if (credentials) {
            ctx.header("Access-Control-Allow-Credentials", "true");
        }
        Vary.add(ctx, "Origin");
    }
}
