# frozen_string_literal: true

require 'json'
require 'rack/media_type'

module RackRunner
  # The body rule of a REST handler: how a request body is read, decoded and checked (413, 415,
  # 400), then parsed and validated (422).
  class BodyRule
    # Bound on a body when the handler sets no `max_bytes`.
    DEFAULT_MAX_BYTES = 16 * 1024 * 1024

    # Room for the coding's own bytes (headers, block framing) when a body is content-coded:
    # the encoded body is read up to max_bytes plus this, the decoded one up to max_bytes.
    CODING_SLACK = 64 * 1024

    def initialize(spec)
      @media = spec['media']
      @required = spec.fetch('required', true)
      @max_bytes = spec['max_bytes'] || DEFAULT_MAX_BYTES
      @codings = ContentCoding.supported(spec['content_encodings'])
      schema = spec['schema']
      @validator = spec.key?('schema') ? Schema.compile(schema) : nil
      return unless %w[form multipart].include?(@media)

      # Form fields (and multipart fields) are coerced like query parameters; without declared
      # properties every field is kept as a string.
      keep_all = !(schema.is_a?(Hash) && schema.key?('properties'))
      fields = Params::Location.new('body', Params::Location.properties_of(schema), nil, keep_all: keep_all)
      @form = fields if @media == 'form'
      @multipart = MultipartBody.new(fields, @validator, spec['files']) if @media == 'multipart'
    end

    # The decoded body (nil when absent). A missing required body or a schema violation is
    # added to `errors`; a 413, 415 or 400 is handed to the block, which must not return.
    def read(env, errors)
      codings = ContentCoding.parse(env['HTTP_CONTENT_ENCODING'])
      bytes = read_bytes(env, codings.empty? ? @max_bytes : @max_bytes + CODING_SLACK) do
        yield Problem.payload_too_large
      end
      if bytes.empty?
        errors << Problem::FieldError.new('body', '', 'a request body is required') if @required
        return nil
      end
      bytes = decode(bytes, codings) { |problem| yield problem } unless codings.empty?
      yield Problem.unsupported_media_type unless accepts?(env['CONTENT_TYPE'])
      return @multipart.read(env, bytes, errors) { yield Problem.malformed_body } if @multipart

      text = bytes.force_encoding(Encoding::UTF_8)
      yield Problem.malformed_body unless text.valid_encoding?

      value = parse(text) { yield Problem.malformed_body }
      Schema.errors(@validator, value).each do |pointer, message|
        errors << Problem::FieldError.new('body', pointer, message)
      end if @validator
      value
    end

    private

    # The raw body, at most `limit` bytes; a longer one (by Content-Length, or as read) goes to
    # the block.
    def read_bytes(env, limit)
      length = env['CONTENT_LENGTH']
      yield if length && length.to_i > limit

      input = env['rack.input']
      bytes = (input && input.read(limit + 1)) || ''.b
      yield if bytes.bytesize > limit
      bytes
    end

    # The body with its content codings undone: 415 (with the codings the handler decodes in
    # `Accept-Encoding`, RFC 9110 section 15.5.16) for one the handler does not list, 400 when
    # it does not decode, 413 when it decodes to more than max_bytes.
    def decode(bytes, codings)
      unless (codings - @codings).empty?
        accepted = @codings.empty? ? 'identity' : @codings.join(', ')
        yield Problem.unsupported_media_type('accept-encoding' => accepted)
      end
      ContentCoding.decode(bytes, codings, @max_bytes)
    rescue ContentCoding::TooLarge
      yield Problem.payload_too_large
    rescue ContentCoding::Malformed
      yield Problem.malformed_body
    end

    def parse(text)
      case @media
      when 'json'
        begin
          JsonText.parse(text)
        rescue JSON::ParserError
          yield
        end
      when 'form' then @form.collect(Params.pairs(text))
      else text
      end
    end

    # Whether a content type fits the media: `application/json` or `*/*+json`, the urlencoded
    # form type, `multipart/form-data`, or any `text/*`. Parameters are ignored; names are
    # case-insensitive.
    def accepts?(content_type)
      essence = Rack::MediaType.type(content_type).to_s.strip # lower case, without parameters
      type, subtype = essence.split('/', 2)
      return false if type.to_s.empty? || subtype.to_s.empty?

      case @media
      when 'json' then essence == 'application/json' || (subtype.length > 5 && subtype.end_with?('+json'))
      when 'form' then essence == 'application/x-www-form-urlencoded'
      when 'multipart' then essence == 'multipart/form-data'
      else type == 'text'
      end
    end
  end
end
