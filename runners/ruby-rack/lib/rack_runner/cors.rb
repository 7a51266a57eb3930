# frozen_string_literal: true

module RackRunner
  # A handler's `cors`: a Rack middleware adding the CORS headers to its replies, and the
  # preflight answer of its route (the Router sends preflights to `Cors#preflight`).
  #
  # Debian's rack-cors (1.1.1) cannot honour the vocabulary exactly, so this is our own: it
  # answers an allowed preflight with 200 rather than 204 and a refused one with 200 without
  # headers rather than 403, echoes the requested headers in Access-Control-Allow-Headers instead
  # of the allowed list, always sends Access-Control-Max-Age (7200 by default) and
  # Access-Control-Expose-Headers (empty), and refuses to start with `origins '*'` and
  # `credentials: true` (the vocabulary then echoes the request's origin).
  class Cors
    PREFLIGHT_REFUSED = [403, { 'vary' => 'Origin' }, []].freeze

    # `app`: the handler (nil when only preflights are answered); `spec`: its `cors`.
    def initialize(app, spec)
      @app = app
      @any_origin = spec['allow_origins'].include?('*')
      @origins = spec['allow_origins']
      @methods = spec.fetch('allow_methods', [])
      @allow_headers = spec.fetch('allow_headers', [])
      @allowed_names = @allow_headers.map(&:downcase)
      @expose_headers = spec.fetch('expose_headers', [])
      @max_age = spec['max_age']
      @credentials = spec['allow_credentials'] == true
    end

    # A reply of the handler, with the CORS headers when the request's Origin is allowed. Every
    # reply varies by Origin (whether it carries them depends on it), so each says so.
    def call(env)
      status, headers, body = @app.call(env)
      headers = Headers.add_vary(headers, 'Origin')
      origin = env['HTTP_ORIGIN']
      if allowed_origin?(origin)
        headers.merge!(origin_headers(origin))
        headers['access-control-expose-headers'] = @expose_headers.join(', ') unless @expose_headers.empty?
      end
      [status, headers, body]
    end

    # The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method): 204
    # when the origin, the method and every requested header are allowed, else 403 without any
    # Access-Control-* header.
    def preflight(env)
      origin = env['HTTP_ORIGIN']
      requested = env['HTTP_ACCESS_CONTROL_REQUEST_HEADERS'].to_s.split(',').map { |name| name.strip.downcase }
      unless allowed_origin?(origin) && @methods.include?(env['HTTP_ACCESS_CONTROL_REQUEST_METHOD']) &&
             requested.reject(&:empty?).all? { |name| @allowed_names.include?(name) }
        return [PREFLIGHT_REFUSED[0], PREFLIGHT_REFUSED[1].dup, []]
      end

      headers = origin_headers(origin)
      headers['access-control-allow-methods'] = @methods.join(', ')
      headers['access-control-allow-headers'] = @allow_headers.join(', ') unless @allow_headers.empty?
      headers['access-control-max-age'] = @max_age.to_s if @max_age
      headers['vary'] = 'Origin'
      [204, headers, []]
    end

    private

    def allowed_origin?(origin)
      !origin.nil? && (@any_origin || @origins.include?(origin))
    end

    # Access-Control-Allow-Origin (`*` for any origin without credentials, else the origin
    # itself) and Access-Control-Allow-Credentials.
    def origin_headers(origin)
      headers = { 'access-control-allow-origin' => @any_origin && !@credentials ? '*' : origin }
      headers['access-control-allow-credentials'] = 'true' if @credentials
      headers
    end
  end
end
