# frozen_string_literal: true

require_relative 'test_helper'

class ContentCodingTest < Minitest::Test
  CC = RackRunner::ContentCoding

  def test_parse_lists_codings_without_identity
    assert_equal [], CC.parse(nil)
    assert_equal [], CC.parse('identity')
    assert_equal %w[gzip br], CC.parse('X-Gzip, identity, BR')
  end

  def test_gzip_and_deflate_decode
    assert_equal 'hello', CC.decode(Zlib.gzip('hello'), %w[gzip], 100)
    assert_equal 'hello', CC.decode(Zlib::Deflate.deflate('hello'), %w[deflate], 100)
    assert_equal 'hello', CC.decode(Zlib.gzip(Zlib::Deflate.deflate('hello')), %w[deflate gzip], 100)
  end

  def test_gzip_members_are_concatenated
    assert_equal 'helloworld', CC.decode(Zlib.gzip('hello') + Zlib.gzip('world'), %w[gzip], 100)
  end

  def test_broken_bodies_are_malformed
    assert_raises(CC::Malformed) { CC.decode('{"n":1}', %w[gzip], 100) }
    assert_raises(CC::Malformed) { CC.decode(Zlib.gzip('hello')[0..-3], %w[gzip], 100) }
    assert_raises(CC::Malformed) { CC.decode("#{Zlib.gzip('hello')}xx", %w[gzip], 100) }
    assert_raises(CC::Malformed) { CC.decode("#{Zlib::Deflate.deflate('hello')}xx", %w[deflate], 100) }
  end

  def test_the_decoded_size_is_bounded_while_inflating
    bomb = Zlib.gzip(' ' * 10_000_000)
    assert_raises(CC::TooLarge) { CC.decode(bomb, %w[gzip], 1024) }
    assert_equal 1024, CC.decode(Zlib.gzip(' ' * 1024), %w[gzip], 1024).bytesize
  end
end

class CompressedUploadTest < Minitest::Test
  def app
    RunnerTest.app(
      { 'method' => 'POST', 'route' => '/gz',
        'body' => { 'media' => 'json', 'max_bytes' => 64, 'content_encodings' => %w[gzip] },
        'response' => { 'echo' => true } },
      { 'method' => 'POST', 'route' => '/plain', 'body' => { 'media' => 'json' }, 'response' => { 'echo' => true } }
    )
  end

  def post(path, coding, body)
    headers = { 'CONTENT_TYPE' => 'application/json', 'HTTP_CONTENT_ENCODING' => coding }
    RunnerTest.request(app, 'POST', path, headers, body)
  end

  def test_a_listed_coding_is_decoded
    reply = post('/gz', 'gzip', Zlib.gzip('{"n":3}'))
    assert_equal 200, reply.status
    assert_equal({ 'body' => { 'n' => 3 } }, JSON.parse(reply.body))
  end

  def test_an_unlisted_coding_is_415_naming_the_accepted_ones
    reply = post('/gz', 'br', 'xx')
    assert_equal [415, 'gzip'], [reply.status, reply.headers['accept-encoding']]
    reply = post('/plain', 'gzip', Zlib.gzip('{"n":3}'))
    assert_equal [415, 'identity'], [reply.status, reply.headers['accept-encoding']]
  end

  def test_identity_is_always_accepted
    assert_equal 200, post('/plain', 'identity', '{"n":1}').status
  end

  def test_a_body_that_does_not_decode_is_400_and_one_that_inflates_too_far_413
    assert_equal 400, post('/gz', 'gzip', '{"n":1}').status
    assert_equal 413, post('/gz', 'gzip', Zlib.gzip(JSON.generate('pad' => ' ' * 100))).status
  end
end
