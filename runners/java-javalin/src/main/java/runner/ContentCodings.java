package runner;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.aayushatharva.brotli4j.decoder.BrotliInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;

/**
 * Content codings of request bodies ({@code body.content_encodings}). Javalin has no request
 * decompression, and Jetty's GzipHandler inflates gzip only, for the whole server, before the
 * handler can refuse a coding it does not list (415) or bound the decoded size (413); so a body is
 * decoded here, per handler, with the JDK's gzip and zlib streams and brotli4j's decoder.
 */
final class ContentCodings {
    private ContentCodings() {}

    /**
     * The codings named by the {@code Content-Encoding} lines, in the order they were applied,
     * lower-case, without {@code identity}; {@code x-gzip} is {@code gzip} (RFC 9110 section 8.4.1.3).
     */
    static List<String> of(Enumeration<String> headerLines) {
        List<String> codings = new ArrayList<>();
        while (headerLines != null && headerLines.hasMoreElements()) {
            for (String item : headerLines.nextElement().split(",")) {
                String coding = item.trim().toLowerCase(Locale.ROOT);
                if (coding.equals("x-gzip")) {
                    coding = "gzip";
                }
                if (!coding.isEmpty() && !coding.equals("identity")) {
                    codings.add(coding);
                }
            }
        }
        return codings;
    }

    /** Whether this runner can decode a coding the handler lists. */
    static boolean decodable(String coding) {
        return coding.equals("gzip") || coding.equals("deflate") || coding.equals("br");
    }

    /**
     * The decoded bytes of a body encoded with {@code codings} (in the order applied), at most
     * {@code limit + 1} of them ({@code limit} below {@code Integer.MAX_VALUE}), so a caller sees a body that inflates past its limit without
     * inflating all of it. A body that is not in those codings throws an IOException.
     */
    static byte[] decode(InputStream raw, List<String> codings, int limit) throws IOException {
        InputStream in = raw;
        for (int i = codings.size() - 1; i >= 0; i--) {
            in = decoder(codings.get(i), in);
        }
        try (InputStream decoded = in) {
            return decoded.readNBytes(limit + 1);
        }
    }

    private static InputStream decoder(String coding, InputStream in) throws IOException {
        return switch (coding) {
            case "gzip" -> new GZIPInputStream(in);
            case "deflate" -> new InflaterInputStream(in); // the zlib format, as HTTP's deflate is
            case "br" -> {
                Brotli4jLoader.ensureAvailability();
                yield new BrotliInputStream(in);
            }
            default -> throw new IOException("unknown content coding " + coding);
        };
    }
}
