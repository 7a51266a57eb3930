package runner;

import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.Javalin;
import io.javalin.http.HandlerType;
import io.javalin.http.MethodNotAllowedResponse;
import io.javalin.router.JavalinDefaultRouting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The java-javalin runner: serves every fixture's handler with Javalin's own router. */
public final class Main {
    private static final Set<String> PROTOCOLS = Set.of("rest", "websocket", "sse");
    private static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    private static final String HOST = "127.0.0.1";

    private Main() {}

    /** A fixture's handler, with the file it came from. */
    private record Claim(String protocol, JsonNode handler, Path file) {}

    public static void main(String[] args) throws IOException {
        Logger log = LoggerFactory.getLogger("runner");
        String port = System.getenv("PORT");
        String fixturesDir = System.getenv("FIXTURES_DIR");
        if (port == null || fixturesDir == null) {
            log.error("PORT and FIXTURES_DIR must be set");
            System.exit(2);
        }

        // One handler per (method, route) for REST (scenario steps' included), per route for
        // WebSocket and SSE.
        Map<String, Claim> claims = new LinkedHashMap<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(Paths.get(fixturesDir))) {
            files = walk.filter(p -> p.toString().endsWith(".json") && !p.toString().endsWith(".schema.json"))
                    .sorted()
                    .toList();
        }
        for (Path file : files) {
            JsonNode fixture = Json.parse(Files.readAllBytes(file)).orElse(null);
            if (fixture == null) {
                log.warn("{}: not JSON, skipped", file);
                continue;
            }
            String protocol = fixture.path("protocol").asText();
            if (!PROTOCOLS.contains(protocol)) {
                continue;
            }
            for (JsonNode handler : handlers(fixture, protocol)) {
                String route = handler.path("route").asText();
                String key = protocol.equals("rest") ? handler.path("method").asText().toUpperCase() + " " + route : "GET " + route;
                Claim first = claims.putIfAbsent(key, new Claim(protocol, handler, file));
                if (first != null && !(first.protocol().equals(protocol) && first.handler().equals(handler))) {
                    log.warn("{}: {} differs from the handler in {}; the first one is served", file, key, first.file());
                }
            }
        }

        int listenPort = Integer.parseInt(port);
        Tls tls = Tls.fromEnvironment();
        Javalin app = Javalin.create(config -> {
            config.showJavalinBanner = false;
            config.startupWatcherEnabled = false;
            config.http.prefer405over404 = true;
            config.http.disableCompression(); // per handler instead: see Compression
            config.router.ignoreTrailingSlashes = false;
            config.jetty.modifyWebSocketServletFactory(factory -> {
                factory.setMaxTextMessageSize(MAX_MESSAGE_BYTES);
                factory.setMaxBinaryMessageSize(MAX_MESSAGE_BYTES);
            });
            config.registerPlugin(tls.plugin(HOST, listenPort));
            config.router.mount(router -> {
                router.get("/__ready", ctx -> ctx.result("ready"));
                router.exception(Problem.class, (problem, ctx) -> problem.writeTo(ctx));
                mount(router, claims.values());
            });
        });

        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // Exit within ~2 s even if a stream or socket holds the server up.
            Thread watchdog = new Thread(() -> {
                try {
                    Thread.sleep(1500);
                } catch (InterruptedException ignored) {
                    return;
                }
                Runtime.getRuntime().halt(0);
            });
            watchdog.setDaemon(true);
            watchdog.start();
            app.stop();
        }, "shutdown"));

        app.start(); // on the plugin's connector
        log.info("serving {} handlers from {} fixture files on {} ({})", claims.size(), files.size(),
                HOST + ":" + port, tls.describe());
    }

    /** A fixture's handlers: its own {@code handler}, then each REST scenario step's (format 1.1). */
    private static List<JsonNode> handlers(JsonNode fixture, String protocol) {
        List<JsonNode> handlers = new ArrayList<>();
        if (fixture.hasNonNull("handler")) {
            handlers.add(fixture.get("handler"));
        }
        if (protocol.equals("rest")) {
            for (JsonNode step : fixture.path("steps")) {
                if (step.hasNonNull("handler")) {
                    handlers.add(step.get("handler"));
                }
            }
        }
        return handlers;
    }

    /**
     * Registers every handler with Javalin's router. A route with {@code cors} also gets a
     * before-handler (the headers of actual requests) and answers preflights on OPTIONS.
     */
    private static void mount(JavalinDefaultRouting router, Collection<Claim> claims) {
        Map<String, Cors> cors = new LinkedHashMap<>();
        Map<String, RestEndpoint> options = new HashMap<>();
        for (Claim claim : claims) {
            Route route = Route.parse(claim.handler().path("route").asText());
            switch (claim.protocol()) {
                case "rest" -> {
                    HandlerType method = HandlerType.valueOf(claim.handler().path("method").asText().toUpperCase());
                    RestEndpoint endpoint = new RestEndpoint(claim.handler(), route);
                    if (claim.handler().has("cors")) {
                        cors.putIfAbsent(route.javalinPath(), new Cors(claim.handler().get("cors")));
                    }
                    if (method == HandlerType.OPTIONS) {
                        options.put(route.javalinPath(), endpoint); // registered below, after preflights
                    } else {
                        router.addHttpHandler(method, route.javalinPath(), endpoint);
                    }
                }
                case "websocket" -> {
                    WsEndpoint endpoint = new WsEndpoint(claim.handler());
                    router.wsBeforeUpgrade(route.javalinPath(), endpoint::beforeUpgrade);
                    router.ws(route.javalinPath(), endpoint::configure);
                }
                default -> router.get(route.javalinPath(), new SseEndpoint(claim.handler()));
            }
        }
        cors.forEach((path, rule) -> router.before(path, rule::onRequest));
        Set<String> optionsPaths = new LinkedHashSet<>(options.keySet());
        optionsPaths.addAll(cors.keySet());
        for (String path : optionsPaths) {
            Cors rule = cors.get(path);
            RestEndpoint endpoint = options.get(path);
            router.options(path, ctx -> {
                if (rule != null && Cors.isPreflight(ctx)) {
                    rule.onPreflight(ctx);
                } else if (endpoint != null) {
                    endpoint.handle(ctx);
                } else {
                    throw new MethodNotAllowedResponse(); // as if no OPTIONS route were there
                }
            });
        }
    }
}
