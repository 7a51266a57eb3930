# frozen_string_literal: true

# The ruby-rack runner: serves config.ru (every fixture handler under FIXTURES_DIR) with Puma on
# 127.0.0.1:PORT until SIGTERM or SIGINT.

started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
$LOAD_PATH.unshift(File.expand_path('lib', __dir__))
$stderr.sync = true

require 'rack'
require 'puma'
require 'puma/events'
require 'puma/server'
require 'rack_runner'

port = Integer(ENV.fetch('PORT', ''), 10, exception: false)
unless port && File.directory?(ENV.fetch('FIXTURES_DIR', ''))
  warn 'ruby-rack: set PORT (a port number) and FIXTURES_DIR (a directory)'
  exit 2
end

app, = Rack::Builder.parse_file(File.expand_path('config.ru', __dir__))
server = Puma::Server.new(
  app,
  Puma::Events.new($stderr, $stderr),
  environment: 'production',
  min_threads: 0,
  max_threads: 64, # an open SSE stream holds a thread; a WebSocket does not (hijacked)
  force_shutdown_after: 1
)
server.add_tcp_listener('127.0.0.1', port)
shutdown = RackRunner::SHUTDOWN
%w[TERM INT].each { |signal| Signal.trap(signal) { shutdown.request! } }
server.run
elapsed = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round
warn "ruby-rack: serving #{app.size} endpoints on http://127.0.0.1:#{port} (ready in #{elapsed} ms)"

shutdown.wait
# Open SSE streams end as soon as the stop is requested; Puma then finishes the requests in
# flight. WebSocket connections end with the process. Exit within 2 s whatever happens.
Thread.new do
  sleep 1.5
  warn 'ruby-rack: stopping took too long; exiting'
  exit!(0)
end
server.stop(true)
warn 'ruby-rack: stopped'
