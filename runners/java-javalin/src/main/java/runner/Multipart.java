package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Schema;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import io.javalin.http.util.MultipartUtil;
import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.http.Part;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.eclipse.jetty.server.MultiPartFormInputStream;
import runner.Params.ParamSet;
import runner.Problem.FieldError;
import runner.Problem.Location;

/**
 * A {@code multipart} body: fields coerced like form fields against {@code body.schema}, files
 * checked against {@code body.files}; the echo is {@code {"fields": {...}, "files": {...}}}.
 *
 * <p>Parts come from Javalin ({@code ctx.formParamMap()}, {@code ctx.uploadedFiles(name)}, parsed by
 * Jetty) when the request body is the multipart body itself. A body that had to be decoded first
 * ({@code Content-Encoding}), or arrived without {@code Content-Length} (read here, bounded, so the
 * 413 and the empty-body rule hold), is parsed by the same Jetty parser from those bytes, and its
 * files are wrapped in Javalin's {@link UploadedFile}.
 */
final class Multipart {
    /** One entry of {@code body.files}. */
    private record FileRule(String name, boolean required, long maxBytes, List<String> contentTypes, boolean multiple) {
        static FileRule of(String name, JsonNode spec) {
            List<String> types = new ArrayList<>();
            spec.path("content_types").forEach(t -> types.add(t.asText().toLowerCase(Locale.ROOT)));
            return new FileRule(name, spec.path("required").asBoolean(true),
                    spec.path("max_bytes").asLong(-1), types, spec.path("multiple").asBoolean(false));
        }
    }

    /** The parts of one body: field values and files, each by name, in the order sent. */
    private record Parts(Map<String, List<String>> fields, Map<String, List<UploadedFile>> files) {}

    private final ParamSet fields;
    private final Schema schema;
    private final List<FileRule> files = new ArrayList<>();
    /** Jetty's settings: no size limits of its own (the handler's are checked here), parts in memory. */
    private final MultipartConfigElement config;

    Multipart(JsonNode schema, Schema compiled, JsonNode fileSpecs, int maxBytes) {
        this.fields = ParamSet.of(Location.BODY, schema, false);
        this.schema = compiled;
        fileSpecs.fields().forEachRemaining(e -> files.add(FileRule.of(e.getKey(), e.getValue())));
        this.config = new MultipartConfigElement(System.getProperty("java.io.tmpdir"), -1, -1, maxBytes + 1);
    }

    /** Whether a content type is {@code multipart/form-data} (parameters aside). */
    static boolean accepts(String essence) {
        return essence.equals("multipart/form-data");
    }

    /** The body of the request itself, parsed by Javalin; a body that is not multipart is 400. */
    JsonNode fromRequest(Context ctx, List<FieldError> errors) {
        ctx.req().setAttribute(MultipartUtil.MULTIPART_CONFIG_ATTRIBUTE, config);
        Parts parts;
        try {
            Map<String, List<UploadedFile>> uploads = new LinkedHashMap<>();
            for (FileRule rule : files) {
                uploads.put(rule.name(), ctx.uploadedFiles(rule.name()));
            }
            parts = new Parts(ctx.formParamMap(), uploads);
        } catch (Exception e) { // Jetty's IOException (through Kotlin, unchecked) or IllegalStateException
            throw Problem.malformedBody();
        }
        return check(parts, errors);
    }

    /** A body already read (and decoded), parsed with Jetty's parser; not multipart is 400. */
    JsonNode fromBytes(byte[] body, String contentType, List<FieldError> errors) {
        MultiPartFormInputStream parser = new MultiPartFormInputStream(
                new ByteArrayInputStream(body), contentType, config, new File(config.getLocation()));
        try {
            Map<String, List<String>> values = new LinkedHashMap<>();
            Map<String, List<UploadedFile>> uploads = new LinkedHashMap<>();
            for (Part part : parser.getParts()) {
                if (part.getSubmittedFileName() == null) { // a field, as Javalin tells them apart
                    try (InputStream in = part.getInputStream()) {
                        values.computeIfAbsent(part.getName(), k -> new ArrayList<>())
                                .add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                    }
                } else {
                    uploads.computeIfAbsent(part.getName(), k -> new ArrayList<>()).add(new UploadedFile(part));
                }
            }
            return check(new Parts(values, uploads), errors);
        } catch (IOException | IllegalStateException e) {
            throw Problem.malformedBody();
        } finally {
            parser.deleteParts();
        }
    }

    /** Coerces and validates the fields, checks the files; the echo value of the body. */
    private JsonNode check(Parts parts, List<FieldError> errors) {
        ObjectNode body = Json.object();
        ObjectNode fieldValues = fields.collect(parts.fields());
        body.set("fields", fieldValues);
        if (schema != null) {
            Schemas.errors(schema, fieldValues, (pointer, message) ->
                    errors.add(new FieldError(Location.BODY, pointer, message)));
        }
        ObjectNode fileValues = body.putObject("files");
        for (FileRule rule : files) {
            List<UploadedFile> sent = parts.files().getOrDefault(rule.name(), List.of());
            if (sent.isEmpty() && rule.required()) {
                errors.add(new FieldError(Location.BODY, "/" + pointerToken(rule.name()), "a file is required"));
            }
            if (rule.multiple()) {
                ArrayNode list = fileValues.putArray(rule.name());
                for (int i = 0; i < sent.size(); i++) {
                    list.add(describe(rule, sent.get(i), "/" + pointerToken(rule.name()) + "/" + i, errors));
                }
            } else if (!sent.isEmpty()) {
                fileValues.set(rule.name(), describe(rule, sent.get(0), "/" + pointerToken(rule.name()), errors));
            }
        }
        return body;
    }

    /** A file's echo entry; its size and media type are checked against the rule. */
    private static ObjectNode describe(FileRule rule, UploadedFile file, String pointer, List<FieldError> errors) {
        byte[] bytes;
        try (InputStream in = file.content()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw Problem.malformedBody();
        }
        if (rule.maxBytes() >= 0 && bytes.length > rule.maxBytes()) {
            errors.add(new FieldError(Location.BODY, pointer, "the file is larger than " + rule.maxBytes() + " bytes"));
        }
        String type = file.contentType();
        String essence = type == null ? null : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!rule.contentTypes().isEmpty() && !rule.contentTypes().contains(essence)) {
            errors.add(new FieldError(Location.BODY, pointer, "the file's type is not one of " + rule.contentTypes()));
        }
        return Json.object()
                .put("filename", file.filename())
                .put("content_type", type) // null when the part had none
                .put("size", bytes.length)
                .put("sha256", sha256(bytes));
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String pointerToken(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }
}
