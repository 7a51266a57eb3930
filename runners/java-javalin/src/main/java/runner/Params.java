package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.networknt.schema.Schema;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import runner.Problem.FieldError;
import runner.Problem.Location;

/**
 * Parameter coercion and validation: strings from the path, query, headers, cookies or a form
 * become a JSON object typed by the location's schema, which is then validated.
 */
final class Params {
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]+");
    private static final Pattern NUMBER = Pattern.compile("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?");

    private Params() {}

    /** The types named by a schema's {@code type} (a string or a list of strings). */
    static Set<String> typesOf(JsonNode schema) {
        Set<String> types = new HashSet<>();
        JsonNode type = schema == null ? null : schema.get("type");
        if (type != null && type.isTextual()) {
            types.add(type.asText());
        } else if (type != null && type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        }
        return types;
    }

    /**
     * Coerces one raw value to the first type it fits; a value that fits none stays a string, so the
     * validator reports the type error at the property's pointer.
     */
    static JsonNode coerce(Set<String> types, String raw) {
        JsonNodeFactory nodes = Json.MAPPER.getNodeFactory();
        if ((types.contains("integer") || types.contains("number")) && INTEGER.matcher(raw).matches()) {
            BigInteger n = new BigInteger(raw);
            return n.bitLength() < 64 ? nodes.numberNode(n.longValue()) : nodes.numberNode(n);
        }
        if (types.contains("number") && NUMBER.matcher(raw).matches()) {
            return DecimalNode.valueOf(new BigDecimal(raw));
        }
        if (types.contains("boolean") && (raw.equals("true") || raw.equals("false"))) {
            return BooleanNode.valueOf(raw.equals("true"));
        }
        return TextNode.valueOf(raw);
    }

    /** One declared property: its name, whether a repeated key collects, its (item) types, default. */
    record Property(String name, boolean array, Set<String> types, JsonNode defaultValue) {
        static Property of(String name, JsonNode schema) {
            boolean array = typesOf(schema).contains("array");
            return new Property(name, array, typesOf(array ? schema.get("items") : schema), schema.get("default"));
        }
    }

    /** The declared properties of one location and its compiled schema. */
    static final class ParamSet {
        final Location location;
        final List<Property> properties;
        private final Schema schema;
        /** Without declared properties (a form whose schema lists none): every field, as a string. */
        private final boolean keepAll;

        ParamSet(Location location, List<Property> properties, Schema schema, boolean keepAll) {
            this.location = location;
            this.properties = properties;
            this.schema = schema;
            this.keepAll = keepAll;
        }

        /** A location declared by a {@code params} schema (or a form body's schema). */
        static ParamSet of(Location location, JsonNode schema, boolean validate) {
            List<Property> properties = propertiesOf(schema);
            boolean keepAll = schema == null || !schema.has("properties");
            return new ParamSet(location, properties, validate ? Schemas.compile(schema) : null, keepAll);
        }

        static List<Property> propertiesOf(JsonNode schema) {
            List<Property> out = new ArrayList<>();
            JsonNode props = schema == null ? null : schema.get("properties");
            if (props != null) {
                Iterator<Map.Entry<String, JsonNode>> it = props.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> entry = it.next();
                    out.add(Property.of(entry.getKey(), entry.getValue()));
                }
            }
            return out;
        }

        /**
         * The object of declared properties that are present (or defaulted), from every occurrence of
         * each key: a scalar takes the first, an array all of them; undeclared keys are ignored.
         */
        ObjectNode collect(Map<String, List<String>> values) {
            ObjectNode object = Json.object();
            if (keepAll) {
                values.forEach((key, list) -> {
                    if (!list.isEmpty()) object.put(key, list.get(0));
                });
                return object;
            }
            for (Property property : properties) {
                List<String> raw = values.get(property.name());
                if (raw != null && !raw.isEmpty()) {
                    if (property.array()) {
                        ArrayNode items = object.putArray(property.name());
                        raw.forEach(value -> items.add(coerce(property.types(), value)));
                    } else {
                        object.set(property.name(), coerce(property.types(), raw.get(0)));
                    }
                } else if (property.defaultValue() != null) {
                    object.set(property.name(), property.defaultValue().deepCopy());
                }
            }
            return object;
        }

        /** Validates a coerced object, adding one error per failing pointer. */
        void validate(JsonNode object, List<FieldError> errors) {
            if (schema != null) {
                Schemas.errors(schema, object, (pointer, message) ->
                        errors.add(new FieldError(location, pointer, message)));
            }
        }
    }
}
