# frozen_string_literal: true

module RackRunner
  # A route pattern of the handler vocabulary: `/items/{item_id:int}/tags/{tag}`.
  #
  # Matching works on the raw (percent-encoded) request path, one segment at a time; captures
  # are returned raw and decoded by the caller.
  class Route
    CAPTURE = /\A\{([A-Za-z_][A-Za-z0-9_]*)(?::(str|int|float|bool|uuid))?\}\z/.freeze

    # One capture: its name and type (:str, :int, :float, :bool, :uuid).
    Capture = Struct.new(:name, :type)

    attr_reader :pattern, :captures

    def initialize(pattern)
      raise ArgumentError, "route #{pattern.inspect} does not start with '/'" unless pattern.start_with?('/')

      @pattern = pattern
      @captures = []
      segments = pattern == '/' ? [] : pattern.delete_prefix('/').split('/', -1)
      segments.pop if segments.last == '' # a trailing slash is part of the regexp below
      source = segments.map do |segment|
        if (m = CAPTURE.match(segment))
          @captures << Capture.new(m[1], (m[2] || 'str').to_sym)
          '/([^/]+)'
        elsif segment.empty? || segment.include?('{') || segment.include?('}')
          raise ArgumentError, "route #{pattern.inspect}: bad segment #{segment.inspect}"
        else
          '/' + Regexp.escape(segment)
        end
      end.join
      source += '/' if pattern.end_with?('/')
      @regexp = Regexp.new("\\A#{source}\\z")
    end

    # The raw captures (name => percent-encoded value) when `path` matches, else nil.
    def match(path)
      m = @regexp.match(path)
      return nil unless m

      @captures.each_with_index.to_h { |capture, i| [capture.name, m[i + 1]] }
    end
  end

  # The app's router, a Rack app: (route pattern, method) -> endpoint.
  #
  # No route matches the path: 404; a route matches but not the method: 405 with `Allow`.
  # HEAD falls back to the GET endpoint (Puma drops the body). An endpoint is any Rack app; the
  # raw captures of the route (name => percent-encoded value) are in `env[CAPTURES]`. A route
  # may also answer CORS preflights (OPTIONS with Origin and Access-Control-Request-Method)
  # whatever its methods, for the handlers that declare `cors`.
  class Router
    NOT_FOUND = [404, { 'content-type' => 'text/plain; charset=utf-8' }, ['Not Found']].freeze

    # The env key of the route's raw captures.
    CAPTURES = 'rack_runner.captures'

    # One route pattern: its methods' endpoints and the CORS policies of its handlers.
    Entry = Struct.new(:route, :methods, :preflights)

    def initialize
      @routes = {} # pattern => Entry
      @static = {} # pattern => Entry, for routes without captures
      @dynamic = [] # [Entry], for routes with captures
    end

    # Registers the endpoint the block builds (given the parsed Route) for `method` on
    # `pattern`; false, without calling the block, when that pair is already taken (fixtures
    # sharing a method and route carry the same handler: the first one wins).
    def add(method, pattern)
      entry = @routes[pattern]
      return false if entry&.methods&.key?(method)

      route = entry ? entry.route : Route.new(pattern)
      endpoint = yield(route) # when this raises, nothing is registered
      entry ||= register(Entry.new(route, {}, {}))
      entry.methods[method] = endpoint
      true
    end

    # Lets `pattern` answer CORS preflights that ask for `method` with `preflight` (a Rack app);
    # a preflight asking for a method without one is answered by the route's first.
    def add_preflight(method, pattern, preflight)
      @routes.fetch(pattern).preflights[method] ||= preflight
    end

    def size
      @routes.values.sum { |entry| entry.methods.size }
    end

    def call(env)
      path = env['PATH_INFO']
      path = '/' if path.nil? || path.empty?
      # A literal path is one lookup; otherwise the routes with captures are tried in turn.
      if (entry = @static[path])
        return dispatch(env, entry, {})
      end

      @dynamic.each do |dynamic|
        captures = dynamic.route.match(path) or next
        return dispatch(env, dynamic, captures)
      end
      [NOT_FOUND[0], NOT_FOUND[1].dup, NOT_FOUND[2]]
    end

    private

    def register(entry)
      @routes[entry.route.pattern] = entry
      if entry.route.captures.empty?
        @static[entry.route.pattern] = entry
      else
        @dynamic << entry
      end
      entry
    end

    def dispatch(env, entry, captures)
      env[CAPTURES] = captures
      method = env['REQUEST_METHOD']
      if method == 'OPTIONS' && !entry.preflights.empty? && env['HTTP_ORIGIN'] &&
         (requested = env['HTTP_ACCESS_CONTROL_REQUEST_METHOD'])
        return (entry.preflights[requested] || entry.preflights.values.first).call(env)
      end

      endpoint = entry.methods[method] || (method == 'HEAD' && entry.methods['GET'])
      return endpoint.call(env) if endpoint

      [405, { 'allow' => entry.methods.keys.join(', '), 'content-type' => 'text/plain; charset=utf-8' },
       ['Method Not Allowed']]
    end
  end
end
