# frozen_string_literal: true

require 'json'

module RackRunner
  # One REST handler, a Rack app: body checks (413, 415, 400), parameter coercion and
  # validation (422), then the fixed reply, the echo document or the streamed items.
  # Compression and CORS are middlewares around it (see RackRunner.add_rest).
  class RestEndpoint
    JSON_TYPE = 'application/json'
    TEXT_TYPE = 'text/plain; charset=utf-8'

    # `shutdown`: ends streamed replies early when the app stops.
    def initialize(handler, route, shutdown)
      params = handler['params'] || {}
      @path = path_set(route, params['path'])
      @echo_path = !route.captures.empty?
      @query = params['query'] && Params::Location.for_schema('query', params['query'])
      @headers = params['headers'] && Params::Location.for_schema('headers', params['headers'])
      @cookies = params['cookies'] && Params::Location.for_schema('cookies', params['cookies'])
      @body = handler['body'] && BodyRule.new(handler['body'])
      @shutdown = shutdown
      prepare_reply(handler['response'] || {})
    end

    def call(env)
      errors = []
      # 413, 415, 400: the body is checked before any parameter.
      body = @body&.read(env, errors) { |problem| return problem }

      captures = env[Router::CAPTURES] || {}
      path = @path && collect(@path, errors) { @path.collect(captures.map { |k, v| [k, Params.decode_path(v)] }) }
      query = @query && collect(@query, errors) { @query.collect(Params.pairs(env['QUERY_STRING'])) }
      headers = @headers && collect(@headers, errors) { @headers.collect_headers(env) }
      cookies = @cookies && collect(@cookies, errors) { @cookies.collect(Params.cookie_pairs(env['HTTP_COOKIE'])) }
      return Problem.validation_failed(errors) unless errors.empty?

      return [@status, @reply_headers.dup, ItemStream.new(@stream, env['puma.socket'], @shutdown)] if @stream

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
      @stream = nil
      if spec.key?('stream')
        @stream = ItemStream::Spec.new(spec['stream'])
        @reply_headers['content-type'] = @stream.content_type
      elsif spec.key?('json')
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
