# frozen_string_literal: true

# The ruby-rack runner: serves config.ru (every fixture handler under FIXTURES_DIR) with Puma on
# 127.0.0.1:PORT until SIGTERM or SIGINT; over TLS (Puma's MiniSSL) when TLS_CERT_FILE and
# TLS_KEY_FILE name a PEM certificate chain and its key.

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
tls_files = ENV.values_at('TLS_CERT_FILE', 'TLS_KEY_FILE').map { |file| file.to_s.empty? ? nil : file }
if tls_files.compact.size == 1 || tls_files.compact.any? { |file| !File.file?(file) }
  warn 'ruby-rack: set both TLS_CERT_FILE and TLS_KEY_FILE (PEM files), or neither'
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
if tls_files.all?
  require 'puma/minissl'
  tls = Puma::MiniSSL::Context.new
  tls.cert, tls.key = tls_files # the chain, leaf first (SSL_CTX_use_certificate_chain_file)
  tls.verify_mode = Puma::MiniSSL::VERIFY_NONE # no client certificates
  server.add_ssl_listener('127.0.0.1', port, tls)
else
  server.add_tcp_listener('127.0.0.1', port)
end
shutdown = RackRunner::SHUTDOWN
%w[TERM INT].each { |signal| Signal.trap(signal) { shutdown.request! } }
server.run
elapsed = ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round
warn "ruby-rack: serving #{app.size} endpoints on #{tls_files.all? ? 'https' : 'http'}://127.0.0.1:#{port} " \
     "(ready in #{elapsed} ms)"

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
