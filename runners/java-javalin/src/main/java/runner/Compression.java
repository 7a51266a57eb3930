package runner;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.fasterxml.jackson.databind.JsonNode;
import io.javalin.compression.Brotli4jCompressor;
import io.javalin.compression.Compressor;
import io.javalin.compression.GzipCompressor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.DeflaterOutputStream;

/**
 * A handler's {@code response.compress}: which coding a reply gets, and the encoding itself.
 *
 * <p>Javalin's own compression (its CompressedOutputStream) is app-wide and picks the first of its
 * compressors whose name appears anywhere in {@code Accept-Encoding}: it ignores q-values
 * ({@code gzip;q=0} would get gzip), does not know {@code *}, encodes error replies and sends no
 * {@code Vary}. So the choice is made here by RFC 9110's rules; the bytes are still written by
 * Javalin's {@link GzipCompressor} and {@link Brotli4jCompressor} (zlib for deflate, which Javalin
 * has no compressor for).
 */
final class Compression {
    private static final Pattern QVALUE = Pattern.compile("0(\\.[0-9]{0,3})?|1(\\.0{0,3})?");

    private final int minBytes;
    private final List<String> encodings = new ArrayList<>();

    Compression(JsonNode spec) {
        minBytes = spec.path("min_bytes").asInt(0);
        spec.path("encodings").forEach(coding -> encodings.add(coding.asText()));
        if (encodings.isEmpty()) {
            encodings.add("gzip");
        }
    }

    /** The coding for a reply body of {@code length} bytes, or null to send it as is. */
    String choose(String acceptEncoding, int length) {
        return length >= minBytes ? negotiate(acceptEncoding, encodings) : null;
    }

    /**
     * The best of {@code offered} for an {@code Accept-Encoding} value: the highest q wins, ties go
     * to the order of {@code offered}, {@code q=0} refuses, {@code *} stands for any coding not
     * named; null when none is acceptable, there is no header, or {@code identity} is preferred.
     */
    static String negotiate(String acceptEncoding, List<String> offered) {
        if (acceptEncoding == null) {
            return null;
        }
        Map<String, Double> weights = new HashMap<>();
        for (String item : acceptEncoding.split(",")) {
            String[] parts = item.split(";");
            String coding = parts[0].trim().toLowerCase(Locale.ROOT);
            Double q = weight(parts);
            if (!coding.isEmpty() && q != null) {
                weights.putIfAbsent(coding.equals("x-gzip") ? "gzip" : coding, q);
            }
        }
        String best = null;
        double bestWeight = 0;
        for (String coding : offered) {
            double q = weights.getOrDefault(coding, weights.getOrDefault("*", 0.0));
            if (q > bestWeight) {
                best = coding;
                bestWeight = q;
            }
        }
        Double identity = weights.get("identity");
        return identity != null && identity > bestWeight ? null : best;
    }

    /** The q parameter of one list item (1 without one), or null when it is not a valid qvalue. */
    private static Double weight(String[] parts) {
        for (int i = 1; i < parts.length; i++) {
            String param = parts[i].trim();
            if (param.regionMatches(true, 0, "q=", 0, 2)) {
                String value = param.substring(2).trim();
                return QVALUE.matcher(value).matches() ? Double.valueOf(value) : null;
            }
        }
        return 1.0;
    }

    /** {@code body} encoded with {@code coding} (one this class offers). */
    static byte[] encode(String coding, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(64, body.length / 2));
        try (OutputStream encoder = compressor(coding).compress(out)) {
            encoder.write(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // writing to memory
        }
        return out.toByteArray();
    }

    private static Compressor compressor(String coding) {
        return switch (coding) {
            case "gzip" -> new GzipCompressor(6);
            case "br" -> {
                Brotli4jLoader.ensureAvailability();
                yield new Brotli4jCompressor(4);
            }
            case "deflate" -> new Zlib();
            default -> throw new IllegalArgumentException("no compressor for " + coding);
        };
    }

    /** HTTP's {@code deflate}: the zlib format (RFC 9110 section 8.4.1.2). */
    private static final class Zlib implements Compressor {
        @Override
        public String encoding() {
            return "deflate";
        }

        @Override
        public String extension() {
            return "";
        }

        @Override
        public OutputStream compress(OutputStream out) {
            return new DeflaterOutputStream(out);
        }
    }
}
