# frozen_string_literal: true

require 'json'
require 'rack/media_type'

module RackRunner
  # One REST handler: body checks (413, 415, 400), parameter coercion and validation (422),
  # then the fixed reply or the echo document.
  class RestEndpoint
    JSON_TYPE = 'application/json'
    TEXT_TYPE = 'text/plain; charset=utf-8'

    # The body rule of a handler: how a request body is read, checked and decoded.
    class BodyRule
      # Bound on a body when the handler sets no `max_bytes`.
      DEFAULT_MAX_BYTES = 16 * 1024 * 1024

      def initialize(spec)
        @media = spec['media']
        @required = spec.fetch('required', true)
        @max_bytes = spec['max_bytes'] || DEFAULT_MAX_BYTES
        schema = spec['schema']
        @validator = spec.key?('schema') ? Schema.compile(schema) : nil
        return unless @media == 'form'

        # Form fields are coerced like query parameters; without declared properties every
        # field is kept as a string.
        keep_all = !(schema.is_a?(Hash) && schema.key?('properties'))
        @form = Params::Location.new('body', Params::Location.properties_of(schema), nil, keep_all: keep_all)
      end

      # The decoded body (nil when absent). A missing required body or a schema violation is
      # added to `errors`; a 413, 415 or 400 is handed to the block, which must not return.
      def read(env, errors)
        length = env['CONTENT_LENGTH']
        yield Problem.payload_too_large if length && length.to_i > @max_bytes

        input = env['rack.input']
        bytes = (input && input.read(@max_bytes + 1)) || ''.b
        yield Problem.payload_too_large if bytes.bytesize > @max_bytes

        if bytes.empty?
          errors << Problem::FieldError.new('body', '', 'a request body is required') if @required
          return nil
        end
        yield Problem.unsupported_media_type unless accepts?(env['CONTENT_TYPE'])

        text = bytes.force_encoding(Encoding::UTF_8)
        yield Problem.malformed_body unless text.valid_encoding?

        value = decode(text) { yield Problem.malformed_body }
        Schema.errors(@validator, value).each do |pointer, message|
          errors << Problem::FieldError.new('body', pointer, message)
        end if @validator
        value
      end

      private

      def decode(text)
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
      # form type, or any `text/*`. Parameters are ignored; names are case-insensitive.
      def accepts?(content_type)
        essence = Rack::MediaType.type(content_type).to_s.strip # lower case, without parameters
        type, subtype = essence.split('/', 2)
        return false if type.to_s.empty? || subtype.to_s.empty?

        case @media
        when 'json' then essence == 'application/json' || (subtype.length > 5 && subtype.end_with?('+json'))
        when 'form' then essence == 'application/x-www-form-urlencoded'
        else type == 'text'
        end
      end
    end

    def initialize(handler, route)
      params = handler['params'] || {}
      @path = path_set(route, params['path'])
      @echo_path = !route.captures.empty?
      @query = params['query'] && Params::Location.for_schema('query', params['query'])
      @headers = params['headers'] && Params::Location.for_schema('headers', params['headers'])
      @cookies = params['cookies'] && Params::Location.for_schema('cookies', params['cookies'])
      @body = handler['body'] && BodyRule.new(handler['body'])
      prepare_reply(handler['response'] || {})
    end

    def call(env, captures)
      errors = []
      # 413, 415, 400: the body is checked before any parameter.
      body = @body&.read(env, errors) { |problem| return problem }

      path = @path && collect(@path, errors) { @path.collect(captures.map { |k, v| [k, Params.decode_path(v)] }) }
      query = @query && collect(@query, errors) { @query.collect(Params.pairs(env['QUERY_STRING'])) }
      headers = @headers && collect(@headers, errors) { @headers.collect_headers(env) }
      cookies = @cookies && collect(@cookies, errors) { @cookies.collect(Params.cookie_pairs(env['HTTP_COOKIE'])) }
      return Problem.validation_failed(errors) unless errors.empty?

      content = @reply_body
      if @echo
        doc = {}
        doc['path'] = path if @echo_path
        doc['query'] = query if @query
        doc['headers'] = headers if @headers
        doc['cookies'] = cookies if @cookies
        doc['body'] = body if @body
        content = JSON.generate(doc)
      end
      [@status, @reply_headers.dup, [content]]
    end

    private

    def collect(set, errors)
      object = yield
      set.validate(object, errors)
      object
    end

    CAPTURE_SCHEMAS = {
      str: { 'type' => 'string' },
      int: { 'type' => 'integer' },
      float: { 'type' => 'number' },
      bool: { 'type' => 'boolean' },
      uuid: { 'type' => 'string', 'format' => 'uuid' }
    }.freeze

    CAPTURE_TYPES = { int: ['integer'], float: ['number'], bool: ['boolean'] }.freeze

    # The path location: captures typed by the route, constrained further by `params.path`.
    # An untyped capture takes the type `params.path` declares for it, if any.
    def path_set(route, declared)
      return nil if route.captures.empty? && declared.nil?

      declared_props = declared.is_a?(Hash) && declared['properties'].is_a?(Hash) ? declared['properties'] : {}
      properties = []
      type_schemas = {}
      route.captures.each do |capture|
        if capture.type == :str && declared_props.key?(capture.name)
          type_schemas[capture.name] = {}
          properties << Params::Property.from_schema(capture.name, declared_props[capture.name])
        else
          type_schemas[capture.name] = CAPTURE_SCHEMAS.fetch(capture.type)
          properties << Params::Property.new(capture.name, false, CAPTURE_TYPES.fetch(capture.type, []), nil)
        end
      end
      schema = { 'type' => 'object', 'properties' => type_schemas, 'required' => route.captures.map(&:name) }
      schema['allOf'] = [declared] if declared
      Params::Location.new('path', properties, Schema.compile(schema))
    end

    def prepare_reply(spec)
      @status = spec.fetch('status', 200)
      @reply_headers = {}
      @echo = false
      @reply_body = ''
      if spec.key?('json')
        @reply_headers['content-type'] = JSON_TYPE
        @reply_body = JSON.generate(spec['json'])
      elsif spec.key?('text')
        @reply_headers['content-type'] = TEXT_TYPE
        @reply_body = spec['text']
      elsif spec['echo']
        @reply_headers['content-type'] = JSON_TYPE
        @echo = true
      end
      (spec['headers'] || {}).each { |name, value| @reply_headers[name.downcase] = value }
      cookies = (spec['cookies'] || []).map { |cookie| set_cookie(cookie) }
      @reply_headers['set-cookie'] = cookies.join("\n") unless cookies.empty? # Rack 2: one per line
      @reply_headers.freeze
    end

    # A Set-Cookie value, attributes in the canonical order.
    def set_cookie(cookie)
      out = +"#{cookie['name']}=#{cookie['value']}"
      out << "; Path=#{cookie['path']}" if cookie['path']
      out << "; Domain=#{cookie['domain']}" if cookie['domain']
      out << "; Max-Age=#{cookie['max_age']}" if cookie['max_age']
      out << '; HttpOnly' if cookie['http_only']
      out << '; Secure' if cookie['secure']
      out << "; SameSite=#{cookie['same_site']}" if cookie['same_site']
      out
    end
  end
end
