# frozen_string_literal: true

require_relative 'test_helper'

class CorsTest < Minitest::Test
  ITEMS = { 'method' => 'GET', 'route' => '/items', 'response' => { 'json' => [1] },
            'cors' => { 'allow_origins' => ['https://a.example'], 'allow_methods' => %w[GET PUT],
                        'allow_headers' => %w[Content-Type x-token], 'expose_headers' => %w[x-total],
                        'max_age' => 600, 'allow_credentials' => true } }.freeze
  PUBLIC = { 'method' => 'POST', 'route' => '/public', 'body' => { 'media' => 'json' }, 'response' => { 'echo' => true },
             'cors' => { 'allow_origins' => ['*'], 'allow_methods' => %w[POST] } }.freeze
  PLAIN = { 'method' => 'GET', 'route' => '/plain', 'response' => { 'json' => [1] } }.freeze

  def app
    @app ||= RunnerTest.app(ITEMS, PUBLIC, PLAIN)
  end

  def preflight(path, origin, method, headers = nil)
    env = { 'HTTP_ORIGIN' => origin, 'HTTP_ACCESS_CONTROL_REQUEST_METHOD' => method }
    env['HTTP_ACCESS_CONTROL_REQUEST_HEADERS'] = headers if headers
    RunnerTest.request(app, 'OPTIONS', path, env)
  end

  def cors_headers(reply)
    reply.headers.select { |name, _| name.start_with?('access-control-') }
  end

  def test_an_allowed_preflight_is_204_with_the_lists
    reply = preflight('/items', 'https://a.example', 'PUT', 'X-TOKEN, content-type')
    assert_equal 204, reply.status
    assert_equal({ 'access-control-allow-origin' => 'https://a.example', 'access-control-allow-credentials' => 'true',
                   'access-control-allow-methods' => 'GET, PUT', 'access-control-allow-headers' => 'Content-Type, x-token',
                   'access-control-max-age' => '600' }, cors_headers(reply))
    assert_equal 'Origin', reply.headers['vary']
    assert_empty reply.body
  end

  def test_a_refused_preflight_is_403_without_cors_headers
    [preflight('/items', 'https://b.example', 'GET'), preflight('/items', 'https://a.example', 'DELETE'),
     preflight('/items', 'https://a.example', 'GET', 'x-other')].each do |reply|
      assert_equal 403, reply.status
      assert_empty cors_headers(reply)
    end
  end

  def test_any_origin_without_credentials_is_a_star
    reply = preflight('/public', 'https://z.example', 'POST')
    assert_equal [204, '*'], [reply.status, reply.headers['access-control-allow-origin']]
    refute reply.headers.key?('access-control-allow-headers')
    refute reply.headers.key?('access-control-max-age')
  end

  def test_an_actual_request_from_an_allowed_origin_gets_the_headers_errors_included
    reply = RunnerTest.request(app, 'GET', '/items', 'HTTP_ORIGIN' => 'https://a.example')
    assert_equal({ 'access-control-allow-origin' => 'https://a.example', 'access-control-allow-credentials' => 'true',
                   'access-control-expose-headers' => 'x-total' }, cors_headers(reply))
    reply = RunnerTest.request(app, 'POST', '/public', { 'HTTP_ORIGIN' => 'https://z.example', 'CONTENT_TYPE' => 'text/plain' },
                               'not json')
    assert_equal [415, '*'], [reply.status, reply.headers['access-control-allow-origin']]
  end

  def test_other_requests_get_no_cors_headers
    assert_empty cors_headers(RunnerTest.request(app, 'GET', '/items', 'HTTP_ORIGIN' => 'https://b.example'))
    reply = RunnerTest.request(app, 'GET', '/items')
    assert_empty cors_headers(reply)
    assert_equal 'Origin', reply.headers['vary'] # the reply still depends on Origin
  end

  def test_options_that_are_no_preflight_stay_405
    assert_equal 405, RunnerTest.request(app, 'OPTIONS', '/items', 'HTTP_ORIGIN' => 'https://a.example').status
    assert_equal 405, preflight('/plain', 'https://a.example', 'GET').status
  end
end
