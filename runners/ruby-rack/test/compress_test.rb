# frozen_string_literal: true

require_relative 'test_helper'

class CompressNegotiationTest < Minitest::Test
  def choose(header, offered = %w[gzip])
    RackRunner::Compress.negotiate(header, offered)
  end

  def test_a_coding_the_client_accepts_is_chosen
    assert_equal 'gzip', choose('gzip')
    assert_equal 'gzip', choose('gzip, deflate')
    assert_equal 'gzip', choose('br;q=1.0, gzip;q=0.5')
    assert_equal 'gzip', choose('*')
    assert_equal 'gzip', choose('GZIP;Q=0.5') # names and q are case-insensitive
    assert_equal 'gzip', choose('x-gzip')
  end

  def test_nothing_is_chosen_without_an_accepted_offer
    assert_nil choose(nil)
    assert_nil choose('identity')
    assert_nil choose('br')
    assert_nil choose('gzip;q=0, identity')
    assert_nil choose('*;q=0')
    assert_nil choose('identity;q=0') # not a 406: the body goes as it is
    assert_nil choose('gzip;q=2') # not a q-value: the item is dropped
  end

  def test_the_highest_q_wins_and_ties_go_to_the_handler_order
    assert_equal 'deflate', choose('gzip;q=0.5, deflate;q=0.8', %w[gzip deflate])
    assert_equal 'deflate', choose('gzip, deflate', %w[deflate gzip])
    assert_equal 'gzip', choose('*, deflate;q=0.1', %w[deflate gzip])
    assert_equal 'gzip', choose('identity;q=1, gzip;q=0.5') # identity is no rival
  end
end

class CompressMiddlewareTest < Minitest::Test
  LONG = 'x' * 300

  def app(response)
    RunnerTest.app({ 'method' => 'GET', 'route' => '/c/{id:int}', 'response' => response })
  end

  def get(app, path, accept = 'gzip')
    RunnerTest.request(app, 'GET', path, 'HTTP_ACCEPT_ENCODING' => accept)
  end

  def test_a_body_at_min_bytes_is_encoded_with_vary
    reply = get(app('text' => LONG, 'compress' => { 'min_bytes' => 300 }), '/c/1')
    assert_equal 'gzip', reply.headers['content-encoding']
    assert_equal 'Accept-Encoding', reply.headers['vary']
    assert_equal LONG, Zlib.gunzip(reply.body)
    assert_equal reply.body.bytesize.to_s, reply.headers['content-length']
  end

  def test_a_shorter_body_is_sent_as_it_is_with_vary
    reply = get(app('text' => LONG, 'compress' => { 'min_bytes' => 301 }), '/c/1')
    assert_nil reply.headers['content-encoding']
    assert_equal 'Accept-Encoding', reply.headers['vary']
    assert_equal LONG, reply.body
  end

  def test_deflate_is_the_zlib_format
    reply = get(app('text' => LONG, 'compress' => { 'encodings' => %w[deflate] }), '/c/1', 'deflate')
    assert_equal 'deflate', reply.headers['content-encoding']
    assert_equal LONG, Zlib::Inflate.inflate(reply.body)
  end

  def test_an_error_reply_is_not_encoded_but_varies
    reply = get(app('echo' => true, 'compress' => {}), '/c/x')
    assert_equal 422, reply.status
    assert_nil reply.headers['content-encoding']
    assert_equal 'Accept-Encoding', reply.headers['vary']
  end

  def test_a_handler_vary_is_kept
    reply = get(app('text' => LONG, 'headers' => { 'Vary' => 'Cookie' }, 'compress' => {}), '/c/1')
    assert_equal 'Cookie, Accept-Encoding', reply.headers['vary']
  end
end
