# frozen_string_literal: true

require_relative 'test_helper'

class ItemStreamTest < Minitest::Test
  def render(format, item)
    RackRunner::ItemStream::Spec.render(format, item)
  end

  def test_csv_lines_follow_rfc_4180
    assert_equal "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",\"\r\"\r\n", render('csv', ['a', 'b,c', 'say "hi"', "x\ny", "\r"])
    assert_equal "1,1.5,true,false,,é\r\n", render('csv', [1, 1.5, true, false, '', 'é']) # an empty field is not quoted
  end

  def test_ndjson_and_text
    assert_equal "{\"t\":\"日本\"}\n", render('ndjson', { 't' => '日本' })
    assert_equal "[1,2]\n", render('ndjson', [1, 2])
    assert_equal 'no newline', render('text', 'no newline')
  end

  def stream_app(stream)
    RunnerTest.app({ 'method' => 'GET', 'route' => '/s', 'response' => { 'stream' => stream, 'headers' => { 'x-a' => '1' } } })
  end

  def test_a_stream_is_sent_item_by_item_without_content_length
    app = stream_app('format' => 'ndjson', 'items' => [{ 'n' => 1 }, { 'n' => 2 }], 'interval_ms' => 30)
    status, headers, body = app.call(Rack::MockRequest.env_for('/s'))
    assert_equal [200, 'application/x-ndjson', '1'], [status, headers['content-type'], headers['x-a']]
    refute headers.key?('content-length')
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    arrivals = []
    body.each { |chunk| arrivals << [chunk, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started] }
    body.close
    assert_equal ["{\"n\":1}\n", "{\"n\":2}\n"], arrivals.map(&:first)
    assert_operator arrivals[0][1], :<, 0.02
    assert_operator arrivals[1][1], :>=, 0.03
  end

  def test_a_stop_ends_the_stream
    shutdown = RackRunner::Shutdown.new
    spec = RackRunner::ItemStream::Spec.new('format' => 'text', 'items' => %w[a b], 'interval_ms' => 5000)
    Thread.new { sleep 0.05; shutdown.request! }
    chunks = []
    RackRunner::ItemStream.new(spec, nil, shutdown).each { |chunk| chunks << chunk }
    assert_equal %w[a], chunks
  end
end
