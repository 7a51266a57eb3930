# frozen_string_literal: true

# The Rack app: every fixture handler under FIXTURES_DIR. server.rb runs it on Puma; it also runs
# under `puma config.ru` (without the early end of SSE streams on SIGTERM that server.rb adds).

$LOAD_PATH.unshift(File.expand_path('lib', __dir__))
require 'rack_runner'

run RackRunner.app(ENV.fetch('FIXTURES_DIR'))
