package runner;

import io.javalin.http.Context;
import java.util.Arrays;

/** The {@code Vary} header kept as one line, so CORS ({@code Origin}) and compression can share it. */
final class Vary {
    private Vary() {}

    /** Adds a header name to the reply's {@code Vary}, once. */
    static void add(Context ctx, String name) {
        String current = ctx.res().getHeader("Vary");
        if (current == null || current.isBlank()) {
            ctx.header("Vary", name);
        } else if (Arrays.stream(current.split(",")).noneMatch(item -> item.trim().equalsIgnoreCase(name))) {
            ctx.header("Vary", current + ", " + name);
        }
    }
}
