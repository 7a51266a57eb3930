# frozen_string_literal: true

require 'json'

require_relative 'rack_runner/shutdown'
require_relative 'rack_runner/route'
require_relative 'rack_runner/schema'
require_relative 'rack_runner/params'
require_relative 'rack_runner/rest'
require_relative 'rack_runner/sse'
require_relative 'rack_runner/websocket'

# The ruby-rack runner: a Rack app serving every fixture's handler.
module RackRunner
  PROTOCOLS = %w[rest websocket sse].freeze
  READY_PATH = '/__ready'

  # Answers the readiness probe.
  READY = ->(_env, _captures) { [200, { 'content-type' => 'text/plain; charset=utf-8' }, ['ready']] }

  # Raised by the server on SIGTERM; open SSE streams end when it is.
  SHUTDOWN = Shutdown.new

  module_function

  # The fixtures under `dir` (every *.json but *.schema.json, recursively) whose protocol the
  # runner serves and that carry a handler, as [file, fixture] pairs in path order.
  def load_fixtures(dir)
    Dir.glob(File.join(dir, '**', '*.json')).sort.filter_map do |file|
      next if file.end_with?('.schema.json')

      fixture = JSON.parse(File.read(file))
      next unless fixture.is_a?(Hash) && PROTOCOLS.include?(fixture['protocol']) && fixture['handler'].is_a?(Hash)

      [file, fixture]
    end
  end

  # The router serving every handler, each (method, route) once. A handler that cannot be
  # built is reported on stderr and left out, so that its fixtures fail visibly.
  def app(dir, shutdown = SHUTDOWN)
    router = Router.new
    router.add('GET', READY_PATH) { READY }
    load_fixtures(dir).each do |file, fixture|
      handler = fixture['handler']
      begin
        case fixture['protocol']
        when 'rest'
          router.add(handler['method'].upcase, handler['route']) { |route| RestEndpoint.new(handler, route) }
        when 'websocket'
          router.add('GET', handler['route']) { WebSocketEndpoint.new(handler) }
        when 'sse'
          router.add('GET', handler['route']) { SseEndpoint.new(handler, shutdown) }
        end
      rescue StandardError => e
        warn "ruby-rack: #{file}: handler left out: #{e.class}: #{e.message}"
      end
    end
    router
  end
end
