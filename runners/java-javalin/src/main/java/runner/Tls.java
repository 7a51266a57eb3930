package runner;

import io.javalin.community.ssl.SslPlugin;
import io.javalin.community.ssl.TlsConfig;
import java.util.stream.Stream;

/**
 * The app's one connector, made by Javalin's SSL plugin. With {@code TLS_CERT_FILE} and
 * {@code TLS_KEY_FILE} (PEM chain, PEM key): HTTPS only on the port, HTTP/2 or HTTP/1.1 by ALPN
 * (Jetty's SslContextFactory, http2-server and the JDK's ALPN). Without: plain HTTP/1.1 with
 * prior-knowledge h2c beside it (the plugin's insecure connector).
 */
record Tls(String certFile, String keyFile) {
    /**
     * Mozilla's intermediate profile as the plugin has it, plus the TLS 1.3 suites of its modern
     * profile: the plugin's INTERMEDIATE lists TLSv1.3 but none of its suites, so 1.3 never
     * negotiates with it.
     */
    private static final TlsConfig PROFILE = new TlsConfig(
            Stream.concat(Stream.of(TlsConfig.MODERN.getCipherSuites()), Stream.of(TlsConfig.INTERMEDIATE.getCipherSuites()))
                    .toArray(String[]::new),
            new String[] {"TLSv1.3", "TLSv1.2"});

    /** From the environment; both files or neither. */
    static Tls fromEnvironment() {
        String cert = System.getenv("TLS_CERT_FILE");
        String key = System.getenv("TLS_KEY_FILE");
        if ((cert == null) != (key == null)) {
            throw new IllegalStateException("TLS_CERT_FILE and TLS_KEY_FILE go together");
        }
        return new Tls(cert, key);
    }

    boolean enabled() {
        return certFile != null;
    }

    /** The plugin serving {@code host:port}, over TLS when enabled. */
    SslPlugin plugin(String host, int port) {
        return new SslPlugin(ssl -> {
            ssl.host = host;
            ssl.http2 = true;
            ssl.secure = enabled();
            ssl.insecure = !enabled();
            ssl.securePort = port;
            ssl.insecurePort = port;
            if (enabled()) {
                ssl.tlsConfig = PROFILE;
                ssl.pemFromPath(certFile, keyFile);
            }
        });
    }

    String describe() {
        return enabled() ? "HTTPS, h2 and http/1.1 by ALPN" : "HTTP/1.1 and h2c";
    }
}
