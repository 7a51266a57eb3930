package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.NodePath;
import java.util.function.BiConsumer;

/** JSON Schema (draft 2020-12, formats asserted) via networknt's validator. */
final class Schemas {
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(
            SpecificationVersion.DRAFT_2020_12,
            builder -> builder.schemaRegistryConfig(
                    SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));

    private Schemas() {}

    /** Compiles a schema once, at start-up. */
    static Schema compile(JsonNode schema) {
        Schema compiled = REGISTRY.getSchema(schema);
        compiled.initializeValidators();
        return compiled;
    }

    /**
     * Every error of {@code instance}, as (JSON pointer, message). A {@code required} error points at
     * the missing property; any other at the value at fault.
     */
    static void errors(Schema schema, JsonNode instance, BiConsumer<String, String> sink) {
        for (Error error : schema.validate(instance)) {
            StringBuilder pointer = pointer(error.getInstanceLocation());
            if ("required".equals(error.getKeyword()) && error.getProperty() != null) {
                appendToken(pointer.append('/'), error.getProperty());
            }
            sink.accept(pointer.toString(), error.getMessage());
        }
    }

    private static StringBuilder pointer(NodePath path) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < path.getNameCount(); i++) {
            appendToken(out.append('/'), String.valueOf(path.getElement(i)));
        }
        return out;
    }

    private static void appendToken(StringBuilder out, String token) {
        out.append(token.replace("~", "~0").replace("/", "~1"));
    }
}
