# frozen_string_literal: true

require 'json'

require_relative 'rack_runner/shutdown'
require_relative 'rack_runner/sockets'
require_relative 'rack_runner/route'
require_relative 'rack_runner/schema'
require_relative 'rack_runner/params'
require_relative 'rack_runner/content_coding'
require_relative 'rack_runner/multipart'
require_relative 'rack_runner/body'
require_relative 'rack_runner/item_stream'
require_relative 'rack_runner/compress'
require_relative 'rack_runner/cors'
require_relative 'rack_runner/rest'
require_relative 'rack_runner/sse'
require_relative 'rack_runner/tls_bridge'
require_relative 'rack_runner/websocket'

# The ruby-rack runner: a Rack app serving every fixture's handler.
module RackRunner
  PROTOCOLS = %w[rest websocket sse].freeze
  READY_PATH = '/__ready'

  # Answers the readiness probe.
  READY = ->(_env) { [200, { 'content-type' => 'text/plain; charset=utf-8' }, ['ready']] }

  # Raised by the server on SIGTERM; open SSE streams end when it is.
  SHUTDOWN = Shutdown.new

  module_function

  # The fixtures under `dir` (every *.json but *.schema.json, recursively) whose protocol the
  # runner serves and that carry a handler (of their own or in their steps), as [file, fixture]
  # pairs in path order.
  def load_fixtures(dir)
    Dir.glob(File.join(dir, '**', '*.json')).sort.filter_map do |file|
      next if file.end_with?('.schema.json')

      fixture = JSON.parse(File.read(file))
      next unless fixture.is_a?(Hash) && PROTOCOLS.include?(fixture['protocol']) && handlers(fixture).any?

      [file, fixture]
    end
  end

  # The handlers a fixture asks to serve: its own `handler`, and for a REST scenario the
  # `handler` of each of its `steps` that has one (steps may share a route; the router
  # registers each (method, route) once).
  def handlers(fixture)
    steps = fixture['protocol'] == 'rest' && fixture['steps'].is_a?(Array) ? fixture['steps'] : []
    [fixture, *steps].filter_map { |part| part['handler'] if part.is_a?(Hash) && part['handler'].is_a?(Hash) }
  end

  # The router serving every handler, each (method, route) once. A handler that cannot be
  # built is reported on stderr and left out, so that its fixtures fail visibly.
  def app(dir, shutdown = SHUTDOWN)
    router = Router.new
    router.add('GET', READY_PATH) { READY }
    load_fixtures(dir).each do |file, fixture|
      handlers(fixture).each { |handler| add_handler(router, fixture['protocol'], handler, shutdown, file) }
    end
    router
  end

  # Registers one handler of `file`'s fixture; one that cannot be built is reported and left out.
  def add_handler(router, protocol, handler, shutdown, file)
    case protocol
    when 'rest' then add_rest(router, handler, shutdown)
    when 'websocket'
      router.add('GET', handler['route']) { WebSocketEndpoint.new(handler) }
    when 'sse'
      router.add('GET', handler['route']) { SseEndpoint.new(handler, shutdown) }
    end
  rescue StandardError => e
    warn "ruby-rack: #{file}: handler left out: #{e.class}: #{e.message}"
  end

  # Registers a REST handler: its endpoint inside its middlewares (compression, then CORS
  # outermost, which sees every reply, errors included), and its route's CORS preflights.
  def add_rest(router, handler, shutdown)
    method = handler['method'].upcase
    cors = nil
    added = router.add(method, handler['route']) do |route|
      app = RestEndpoint.new(handler, route, shutdown)
      compress = handler.dig('response', 'compress')
      app = Compress.new(app, compress) if compress
      handler['cors'] ? (cors = Cors.new(app, handler['cors'])) : app
    end
    router.add_preflight(method, handler['route'], cors.method(:preflight)) if added && cors
  end
end
