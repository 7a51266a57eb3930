# frozen_string_literal: true

require 'json'
require 'set' # json_schemer 0.2 uses Set without requiring it
require 'json_schemer'

module RackRunner
  # JSON Schema validation (json_schemer) and the canonical error replies.
  module Schema
    UUID = /\A\h{8}-\h{4}-\h{4}-\h{4}-\h{12}\z/.freeze

    # json_schemer 0.2 knows date, date-time and email but not uuid (a draft 2019-09 format).
    FORMATS = {
      'uuid' => ->(value, _schema) { !value.is_a?(String) || UUID.match?(value) }
    }.freeze

    module_function

    # Compiles a fixture's schema. json_schemer 0.2 implements draft 7; the corpus only uses
    # keywords that draft 7 and draft 2020-12 share. Formats are asserted.
    def compile(schema)
      schema = schema.reject { |key, _| key == '$schema' } if schema.is_a?(Hash)
      JSONSchemer::Schema::Draft7.new(schema, formats: FORMATS)
    end

    # The errors of `instance`, as [pointer, message] pairs: a `required` error points at each
    # missing property, any other error at the value at fault.
    def errors(validator, instance)
      validator.validate(instance).flat_map do |error|
        pointer = error['data_pointer']
        if error['type'] == 'required'
          error['details']['missing_keys'].map do |key|
            ["#{pointer}/#{escape(key)}", "missing required property #{key.inspect}"]
          end
        else
          [[pointer, message(error)]]
        end
      end
    end

    # A JSON pointer reference token.
    def escape(token)
      token.to_s.gsub('~', '~0').gsub('/', '~1')
    end

    def message(error)
      keyword = error['type']
      schema = error['schema']
      value = schema.is_a?(Hash) ? schema[keyword] : nil
      case keyword
      when 'string', 'integer', 'number', 'boolean', 'array', 'object', 'null', 'type'
        "expected #{schema.is_a?(Hash) ? Array(schema['type']).join(' or ') : keyword}"
      when 'format'
        "not a valid #{schema['format']}"
      when 'schema'
        'no value is allowed here'
      else
        value.nil? ? "fails #{keyword}" : "fails #{keyword} #{JSON.generate(value)}"
      end
    end
  end

  # JSON text as the vocabulary reads it.
  module JsonText
    module_function

    # Parses any JSON value; raises JSON::ParserError also for a number out of range (`1e400`),
    # which Ruby would read as Infinity and could not write back.
    def parse(text)
      value = JSON.parse(text)
      raise JSON::ParserError, 'number out of range' unless finite?(value)

      value
    end

    def finite?(value)
      case value
      when Float then value.finite?
      when Array then value.all? { |item| finite?(item) }
      when Hash then value.each_value.all? { |item| finite?(item) }
      else true
      end
    end
  end

  # RFC 9457 problem details, exactly as in fixtures/README.md.
  module Problem
    CONTENT_TYPE = 'application/problem+json'

    PAYLOAD_TOO_LARGE = '{"type":"urn:benchmark-harness:payload-too-large","title":"Payload too large","status":413}'
    UNSUPPORTED_MEDIA_TYPE = '{"type":"urn:benchmark-harness:unsupported-media-type",' \
                             '"title":"Unsupported media type","status":415}'
    MALFORMED_BODY = '{"type":"urn:benchmark-harness:malformed-body","title":"Malformed request body","status":400}'

    # Where a validation error was found, in the order errors are sorted by.
    LOCATIONS = %w[path query headers cookies body].freeze

    # One 422 entry.
    FieldError = Struct.new(:location, :pointer, :message)

    module_function

    def reply(status, body, headers = {})
      [status, { 'content-type' => CONTENT_TYPE }.merge!(headers), [body]]
    end

    def payload_too_large
      reply(413, PAYLOAD_TOO_LARGE)
    end

    # `headers`: more headers (the 415 of a content coding names the accepted ones).
    def unsupported_media_type(headers = {})
      reply(415, UNSUPPORTED_MEDIA_TYPE, headers)
    end

    def malformed_body
      reply(400, MALFORMED_BODY)
    end

    # 422: entries sorted by location then pointer, one per (location, pointer).
    def validation_failed(errors)
      entries = errors
                .each_with_index
                .sort_by { |e, i| [LOCATIONS.index(e.location), e.pointer, i] }
                .map(&:first)
                .uniq { |e| [e.location, e.pointer] }
                .map { |e| { 'in' => e.location, 'pointer' => e.pointer, 'message' => e.message } }
      reply(422, JSON.generate('type' => 'urn:benchmark-harness:validation-error',
                               'title' => 'Request validation failed',
                               'status' => 422,
                               'errors' => entries))
    end
  end
end
