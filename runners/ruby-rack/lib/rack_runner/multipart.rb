# frozen_string_literal: true

# digest/sha2 itself, loaded now: Digest::SHA256 left to Digest's const_missing is loaded by the
# first request that needs it, and that is not thread-safe under Puma's threads (Ruby bug #9494,
# rails/rails#30705): concurrent first uploads failed with 500.
require 'digest/sha2'
require 'stringio'
require 'rack/request'
require 'rack/query_parser'
require 'rack/multipart'

module RackRunner
  # `body.media: "multipart"`: a multipart/form-data body parsed by Rack's multipart parser
  # (Rack::Multipart through Rack::Request#POST), its fields coerced like form fields and its
  # files checked against `body.files`.
  class MultipartBody
    # Rack's parser hands every part to its query parser, which nests `a[b]` names and lets a
    # repeated name overwrite the earlier one. The vocabulary wants the parts as sent (the first
    # of a repeated field, every file of a `multiple` entry, in order), so this query parser
    # keeps them as [name, value] pairs: a String for a field, Rack's upload Hash for a file.
    class OrderedParts < Rack::QueryParser
      # The parser's params object: the parts in order.
      class PartList < Array
        def initialize(_key_space_limit)
          super()
        end

        def to_params_hash
          self
        end
      end

      def normalize_params(params, name, value, _depth)
        params << [name, value]
        params
      end
    end

    PARTS_PARSER = OrderedParts.new(OrderedParts::PartList, 65_536, 100)

    # A Rack request whose POST body is read as ordered parts.
    class Request < Rack::Request
      def query_parser
        PARTS_PARSER
      end
    end

    # Keeps uploads in memory: the body is already read and bounded by `max_bytes`.
    IN_MEMORY = ->(_filename, _content_type) { StringIO.new(String.new(encoding: Encoding::BINARY)) }

    # What Rack raises on a body that is not valid multipart (EOFError for a missing boundary
    # or a truncated part) or on one over its part limits.
    PARSE_ERRORS = [EOFError, Rack::Multipart::MultipartPartLimitError, Rack::Multipart::MultipartTotalPartLimitError,
                    Rack::QueryParser::QueryLimitError, ArgumentError, EncodingError].freeze

    # One `body.files` entry.
    FileRule = Struct.new(:name, :required, :max_bytes, :content_types, :multiple) do
      def self.from(name, spec)
        types = spec['content_types']&.map(&:downcase)
        new(name, spec.fetch('required', true), spec['max_bytes'], types, spec['multiple'] == true)
      end
    end

    # `fields`: the Params::Location coercing the field parts; `validator`: the body schema.
    def initialize(fields, validator, files)
      @fields = fields
      @validator = validator
      @files = (files || {}).map { |name, spec| FileRule.from(name, spec) }
    end

    # The echo document of a multipart body: {"fields": {...}, "files": {...}}. Field and file
    # errors are added to `errors`; a body that is not valid multipart is handed to the block
    # (which must not return).
    def read(env, bytes, errors)
      parts = parse(env, bytes) { yield }
      fields, uploads = parts.partition { |_, value| value.is_a?(String) }
      field_values = @fields.collect(fields.map { |name, value| [name, utf8(value) { yield }] })
      Schema.errors(@validator, field_values).each do |pointer, message|
        errors << Problem::FieldError.new('body', pointer, message)
      end if @validator
      { 'fields' => field_values, 'files' => files(uploads, errors) }
    end

    private

    # The parts of the body, as [name, String or upload Hash]. The body was read (and decoded)
    # already, so Rack reads it again from memory.
    def parse(env, bytes)
      boundary_ok = Rack::Multipart::Parser.parse_boundary(env['CONTENT_TYPE'])
      yield unless boundary_ok

      request = Request.new(env.merge('rack.input' => StringIO.new(bytes), 'CONTENT_LENGTH' => bytes.bytesize.to_s,
                                      'REQUEST_METHOD' => 'POST',
                                      'rack.multipart.tempfile_factory' => IN_MEMORY))
      request.POST
    rescue *PARSE_ERRORS
      yield
    end

    # A field's value as UTF-8: Rack tags it UTF-8, or with the charset of a `text/plain` part.
    def utf8(value)
      text = value.encoding == Encoding::UTF_8 ? value : value.encode(Encoding::UTF_8)
      yield unless text.valid_encoding?
      text
    rescue EncodingError
      yield
    end

    # The files document, one key per declared entry that has (or, for `multiple`, may have)
    # files; errors at /<name> or /<name>/<index>.
    def files(uploads, errors)
      @files.each_with_object({}) do |rule, out|
        sent = uploads.filter_map { |name, upload| upload if name == rule.name }
        sent = sent.first(1) unless rule.multiple
        at = "/#{Schema.escape(rule.name)}"
        if sent.empty?
          errors << Problem::FieldError.new('body', at, 'a file is required') if rule.required
          out[rule.name] = [] if rule.multiple
          next
        end
        described = sent.each_with_index.map do |upload, index|
          pointer = rule.multiple ? "#{at}/#{index}" : at
          describe(upload, rule, pointer, errors)
        end
        out[rule.name] = rule.multiple ? described : described.first
      end
    end

    # {filename, content_type, size, sha256} of one upload, checked against its rule.
    def describe(upload, rule, pointer, errors)
      data = upload[:tempfile].string
      content_type = upload[:type]
      if rule.max_bytes && data.bytesize > rule.max_bytes
        errors << Problem::FieldError.new('body', pointer, "file larger than #{rule.max_bytes} bytes")
      end
      if rule.content_types && !rule.content_types.include?(Rack::MediaType.type(content_type).to_s.strip)
        errors << Problem::FieldError.new('body', pointer, "file type not one of #{rule.content_types.join(', ')}")
      end
      { 'filename' => upload[:filename].dup.force_encoding(Encoding::UTF_8).scrub,
        'content_type' => content_type, 'size' => data.bytesize, 'sha256' => Digest::SHA256.hexdigest(data) }
    end
  end
end
