# frozen_string_literal: true

require 'digest'
require_relative 'test_helper'

class MultipartTest < Minitest::Test
  HANDLER = {
    'method' => 'POST', 'route' => '/up',
    'body' => { 'media' => 'multipart', 'max_bytes' => 4096,
                'schema' => { 'type' => 'object', 'required' => ['title'],
                              'properties' => { 'title' => { 'type' => 'string' },
                                                'tags' => { 'type' => 'array', 'items' => { 'type' => 'integer' } } } },
                'files' => { 'photo' => { 'max_bytes' => 4, 'content_types' => %w[image/png] },
                             'extras' => { 'required' => false, 'multiple' => true },
                             'note' => { 'required' => false } } },
    'response' => { 'echo' => true }
  }.freeze

  # A multipart body of [name, value, filename, content_type] parts.
  def body(parts, boundary = 'BOUNDARY')
    parts.map do |name, value, filename, type|
      head = +"--#{boundary}\r\nContent-Disposition: form-data; name=\"#{name}\""
      head << "; filename=\"#{filename}\"" if filename
      head << "\r\nContent-Type: #{type}" if type
      "#{head}\r\n\r\n#{value}\r\n"
    end.join + "--#{boundary}--\r\n"
  end

  # Digest::SHA256 must be loaded with the runner, not by Digest's const_missing on the first
  # upload: that load races between Puma's threads ("Digest::Base cannot be directly inherited").
  # A fresh process (this one has loaded it already) shows whether loading the runner loads it.
  def test_sha256_is_loaded_with_the_runner_not_on_first_use
    lib = File.expand_path('../lib', __dir__)
    script = "require 'rack_runner/multipart'; print Digest.const_defined?(:SHA256, false)"
    out = IO.popen([RbConfig.ruby, '-I', lib, '-e', script], err: File::NULL, &:read)
    assert_equal 'true', out
  end

  def post(payload, content_type = 'multipart/form-data; boundary=BOUNDARY')
    reply = RunnerTest.request(RunnerTest.app(HANDLER), 'POST', '/up', { 'CONTENT_TYPE' => content_type }, payload.b)
    [reply.status, JSON.parse(reply.body)]
  end

  def file(data, filename, type)
    { 'filename' => filename, 'content_type' => type, 'size' => data.bytesize, 'sha256' => Digest::SHA256.hexdigest(data) }
  end

  def test_fields_and_files_in_order
    status, doc = post(body([['title', 'first'], ['tags', '1'], ['title', 'second'], ['tags', '2'],
                             ['photo', 'PNG!', 'p.png', 'image/png'], ['photo', 'other', 'q.png', 'image/png'],
                             ['extras', 'a', 'a.txt', 'text/plain'], ['extras', 'bb', 'b.bin', nil],
                             ['ignored', 'x', 'x.txt', 'text/plain']]))
    assert_equal 200, status
    assert_equal({ 'title' => 'first', 'tags' => [1, 2] }, doc['body']['fields'])
    assert_equal({ 'photo' => file('PNG!', 'p.png', 'image/png'),
                   'extras' => [file('a', 'a.txt', 'text/plain'), file('bb', 'b.bin', nil)] },
                 doc['body']['files'])
  end

  def test_file_errors_point_at_the_file
    status, doc = post(body([['tags', 'x'], ['photo', 'too large', 'p.gif', 'image/gif'],
                             ['extras', 'a', 'a.txt', nil], ['note', '', '', nil]]))
    assert_equal 422, status
    assert_equal [%w[body /photo], %w[body /tags/0], %w[body /title]],
                 doc['errors'].map { |error| [error['in'], error['pointer']] }
  end

  def test_a_multiple_file_at_fault_points_at_its_index
    handler = HANDLER.merge('body' => HANDLER['body'].merge(
      'files' => { 'extras' => { 'multiple' => true, 'max_bytes' => 1 } }, 'schema' => { 'type' => 'object' }
    ))
    payload = body([['extras', 'a', 'a.txt', nil], ['extras', 'bb', 'b.txt', nil]])
    reply = RunnerTest.request(RunnerTest.app(handler), 'POST', '/up',
                               { 'CONTENT_TYPE' => 'multipart/form-data; boundary=BOUNDARY' }, payload)
    assert_equal ['/extras/1'], JSON.parse(reply.body)['errors'].map { |error| error['pointer'] }
  end

  def test_text_fields_in_another_charset_are_read_as_utf8
    status, doc = post(body([['title', "caf\xE9".b, nil, 'text/plain; charset=ISO-8859-1'], ['photo', 'P', 'p.png', 'image/png']]))
    assert_equal [200, 'café'], [status, doc['body']['fields']['title']]
  end

  def test_what_is_not_multipart_is_malformed
    ['this is not multipart at all', body([['title', 'x']])[0..-10], body([['title', "\xFF".b]])].each do |payload|
      assert_equal 400, post(payload).first, payload.inspect
    end
    assert_equal 400, post(body([['title', 'x']]), 'multipart/form-data').first # no boundary
  end

  def test_other_media_types_are_415
    assert_equal 415, post('{"title":"x"}', 'application/json').first
  end
end
