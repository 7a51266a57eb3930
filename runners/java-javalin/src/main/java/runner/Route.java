package runner;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A fixture route ({@code /items/{item_id:int}}) and its Javalin path ({@code /items/{item_id}}). */
record Route(String pattern, String javalinPath, List<Capture> captures) {
    private static final Pattern CAPTURE = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)(?::(str|int|float|bool|uuid))?}");

    /** A {@code {name}} or {@code {name:type}} capture. */
    record Capture(String name, String type) {
        /** The JSON Schema of the capture's type. */
        JsonNode jsonSchema() {
            ObjectNode schema = Json.object();
            switch (type) {
                case "int" -> schema.put("type", "integer");
                case "float" -> schema.put("type", "number");
                case "bool" -> schema.put("type", "boolean");
                case "uuid" -> schema.put("type", "string").put("format", "uuid");
                default -> schema.put("type", "string");
            }
            return schema;
        }
    }

    static Route parse(String pattern) {
        List<Capture> captures = new ArrayList<>();
        Matcher m = CAPTURE.matcher(pattern);
        StringBuilder path = new StringBuilder();
        while (m.find()) {
            String type = m.group(2) == null ? "str" : m.group(2);
            captures.add(new Capture(m.group(1), type));
            m.appendReplacement(path, Matcher.quoteReplacement("{" + m.group(1) + "}"));
        }
        m.appendTail(path);
        return new Route(pattern, path.toString(), List.copyOf(captures));
    }
}
