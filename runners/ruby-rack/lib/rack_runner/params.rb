# frozen_string_literal: true

require 'json'

module RackRunner
  # Parameter coercion: strings from the path, query, headers, cookies or a form become a Hash
  # typed by the location's schema, then validated against it.
  module Params
    INTEGER = /\A-?[0-9]+\z/.freeze
    NUMBER = /\A-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\z/.freeze

    module_function

    # The JSON types named by a schema's `type` (a string or a list of them).
    def types_of(schema)
      return [] unless schema.is_a?(Hash)

      Array(schema['type']).grep(String)
    end

    # Coerces one raw string to the first of `types` it fits; a string that fits none stays a
    # string, so that the schema's `type` check reports it at the property's pointer.
    def coerce(raw, types)
      return Integer(raw, 10) if types.include?('integer') && INTEGER.match?(raw)

      if types.include?('number') && NUMBER.match?(raw)
        number = JSON.parse(raw)
        return number if number.is_a?(Integer) || number.finite?
      end
      if types.include?('boolean')
        return true if raw == 'true'
        return false if raw == 'false'
      end
      raw
    end

    # Percent-decodes a path capture (`+` stays a plus); invalid UTF-8 is replaced.
    def decode_path(raw)
      utf8(raw.b.gsub(/%\h\h/) { |hex| hex[1, 2].to_i(16).chr })
    end

    # Percent-decodes a query or form component (`+` is a space); invalid UTF-8 is replaced.
    def decode_component(raw)
      decode_path(raw.tr('+', ' '))
    end

    def utf8(bytes)
      bytes.force_encoding(Encoding::UTF_8).scrub
    end

    # `a=1&b=2&a=3` as [[key, value], ...], in order.
    def pairs(query)
      return [] if query.nil? || query.empty?

      query.split('&').filter_map do |pair|
        next if pair.empty?

        key, value = pair.split('=', 2)
        [decode_component(key), decode_component(value || '')]
      end
    end

    # The name/value pairs of the request's `Cookie` header; values wrapped in double quotes are
    # unquoted.
    def cookie_pairs(header)
      return [] if header.nil?

      header.split(/;\s*/).filter_map do |pair|
        name, value = pair.split('=', 2)
        next if value.nil?

        value = value.strip
        value = value[1..-2] if value.length >= 2 && value.start_with?('"') && value.end_with?('"')
        [name.strip, value]
      end
    end

    # The Rack env key of a request header.
    def env_key(header)
      key = header.upcase.tr('-', '_')
      %w[CONTENT_TYPE CONTENT_LENGTH].include?(key) ? key : "HTTP_#{key}"
    end

    # One declared property.
    Property = Struct.new(:name, :array, :types, :default) do
      def self.from_schema(name, schema)
        array = Params.types_of(schema).include?('array')
        types = Params.types_of(array ? schema['items'] : schema)
        new(name, array, types, schema.is_a?(Hash) && schema.key?('default') ? [schema['default']] : nil)
      end
    end

    # The declared properties of one location and its compiled schema.
    class Location
      attr_reader :location

      # keep_all: without declared properties (a form body whose schema lists none), every field
      # is kept as a string, first occurrence.
      def initialize(location, properties, validator, keep_all: false)
        @location = location
        @properties = properties
        @by_name = properties.to_h { |p| [p.name, p] }
        @validator = validator
        @keep_all = keep_all
      end

      # The properties of an object schema, in declared order.
      def self.properties_of(schema)
        props = schema.is_a?(Hash) ? schema['properties'] : nil
        return [] unless props.is_a?(Hash)

        props.map { |name, s| Property.from_schema(name, s) }
      end

      # A location from its `params` schema.
      def self.for_schema(location, schema)
        new(location, properties_of(schema), Schema.compile(schema))
      end

      # Coerces [key, value] pairs (query string, form, cookies, captures).
      def collect(pairs)
        if @keep_all
          out = {}
          pairs.each { |key, value| out[key] = value unless out.key?(key) }
          return out
        end
        values = {}
        pairs.each do |key, raw|
          property = @by_name[key] or next
          if property.array
            (values[key] ||= []) << Params.coerce(raw, property.types)
          elsif !values.key?(key)
            values[key] = Params.coerce(raw, property.types)
          end
        end
        finish(values)
      end

      # Coerces the declared request headers.
      def collect_headers(env)
        values = {}
        @properties.each do |property|
          raw = env[Params.env_key(property.name)] or next
          values[property.name] = property.array ? [Params.coerce(raw, property.types)] : Params.coerce(raw, property.types)
        end
        finish(values)
      end

      # Adds one FieldError per failing pointer to `errors`.
      def validate(object, errors)
        return unless @validator

        Schema.errors(@validator, object).each do |pointer, message|
          errors << Problem::FieldError.new(@location, pointer, message)
        end
      end

      private

      # Present (or defaulted) properties, in declared order.
      def finish(values)
        @properties.each_with_object({}) do |property, out|
          if values.key?(property.name)
            out[property.name] = values[property.name]
          elsif property.default
            out[property.name] = property.default.first
          end
        end
      end
    end
  end
end
