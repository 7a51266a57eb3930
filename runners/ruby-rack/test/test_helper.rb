# frozen_string_literal: true

# Unit tests of the runner's own pieces (run: `ruby test/run.rb` in the runner's folder). The
# fixture corpus, replayed by the harness, is the conformance test; these pin the parts written
# by hand and the edge cases the corpus does not reach.
$LOAD_PATH.unshift(File.expand_path('../lib', __dir__))
require 'minitest/autorun'
require 'json'
require 'tmpdir'
require 'zlib'
require 'rack'
require 'rack/lint'
require 'rack/mock'
require 'rack_runner'

module RunnerTest
  module_function

  # A Rack::Lint-checked app serving `handlers` (REST handler specs), through a fixtures folder
  # made for the test.
  def app(*handlers)
    dir = Dir.mktmpdir('ruby-rack-test')
    handlers.each_with_index do |handler, index|
      fixture = { 'name' => "t#{index}", 'protocol' => 'rest', 'handler' => handler }
      File.write(File.join(dir, "t#{index}.json"), JSON.generate(fixture))
    end
    Rack::Lint.new(RackRunner.app(dir, RackRunner::Shutdown.new))
  ensure
    Minitest.after_run { FileUtils.remove_entry(dir) } if dir
  end

  def request(app, method, path, headers = {}, body = nil)
    env = Rack::MockRequest.env_for(path, { method: method, input: body }.merge(headers))
    Rack::MockResponse.new(*app.call(env))
  end
end
