# frozen_string_literal: true

require_relative 'test_helper'

# REST scenarios (format 1.1): the loader registers the `handler` of every step.
class ScenarioTest < Minitest::Test
  LOGIN = { 'method' => 'POST', 'route' => '/s/login', 'response' => { 'json' => { 'token' => 't-1' } } }.freeze
  ME = { 'method' => 'GET', 'route' => '/s/me/{n:int}', 'response' => { 'echo' => true } }.freeze

  def step(path, handler = nil, method = 'GET')
    step = { 'request' => { 'method' => method, 'path' => path }, 'expected' => { 'status' => 200 } }
    handler ? step.merge('handler' => handler) : step
  end

  # The fixtures folder of the test, holding `fixtures` (name => fixture).
  def fixtures_dir(fixtures)
    dir = Dir.mktmpdir('ruby-rack-scenario')
    fixtures.each { |name, fixture| File.write(File.join(dir, "#{name}.json"), JSON.generate(fixture)) }
    dir
  end

  def router(fixtures)
    dir = fixtures_dir(fixtures)
    RackRunner.app(dir, RackRunner::Shutdown.new)
  ensure
    FileUtils.remove_entry(dir) if dir
  end

  def scenario(*steps)
    { 'protocol' => 'rest', 'steps' => steps }
  end

  def test_every_steps_handler_is_served
    app = Rack::Lint.new(router('flow' => scenario(step('/s/login', LOGIN, 'POST'), step('/s/me/1', ME), step('/s/me/2'))))
    reply = RunnerTest.request(app, 'POST', '/s/login')
    assert_equal 200, reply.status
    assert_equal({ 'token' => 't-1' }, JSON.parse(reply.body))
    reply = RunnerTest.request(app, 'GET', '/s/me/7')
    assert_equal 200, reply.status
    assert_equal({ 'n' => 7 }, JSON.parse(reply.body)['path'])
    assert_equal 404, RunnerTest.request(app, 'GET', '/s/other').status
  end

  def test_handlers_shared_by_steps_and_fixtures_are_registered_once
    router = nil
    assert_silent do
      router = router('a' => scenario(step('/s/login', LOGIN, 'POST'), step('/s/login', LOGIN, 'POST'), step('/s/me/1', ME)),
                      'b' => scenario(step('/s/login', LOGIN, 'POST')),
                      'c' => { 'protocol' => 'rest', 'handler' => ME, 'request' => { 'path' => '/s/me/3' } })
    end
    assert_equal 3, router.size # /__ready, POST /s/login, GET /s/me/{n:int}
  end

  def test_the_handlers_of_a_fixture
    assert_equal [LOGIN, ME], RackRunner.handlers(scenario(step('/s/login', LOGIN, 'POST'), step('/s/x'), step('/s/me/1', ME)))
    assert_equal [ME], RackRunner.handlers({ 'protocol' => 'rest', 'handler' => ME })
    assert_empty RackRunner.handlers(scenario(step('/s/x')))
    # Only REST fixtures have steps.
    assert_empty RackRunner.handlers({ 'protocol' => 'sse', 'steps' => [step('/s/me/1', ME)] })
  end

  def test_a_step_handler_that_cannot_be_built_is_reported_and_the_others_served
    bad = { 'method' => 'GET', 'route' => 'no-slash', 'response' => { 'json' => 1 } }
    router = nil
    _, err = capture_io { router = router('broken' => scenario(step('/x', bad), step('/s/login', LOGIN, 'POST'))) }
    assert_match(%r{broken\.json: handler left out: ArgumentError: route "no-slash" does not start with '/'}, err)
    assert_equal 200, RunnerTest.request(Rack::Lint.new(router), 'POST', '/s/login').status
  end
end
