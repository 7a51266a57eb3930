# frozen_string_literal: true

require_relative 'test_helper'

# The rpc handler's pure rules, and its dispatcher on an EventMachine reactor with a fake socket.
class RpcTest < Minitest::Test
  Rpc = RackRunner::Rpc

  def test_requests_are_judged_as_json_rpc_2_says
    request = Rpc.parse_request({ 'jsonrpc' => '2.0', 'id' => 7, 'method' => 'echo', 'params' => [1] })
    assert_equal [7, 'echo', [1], false], [request.id, request.method, request.params, request.notification?]
    assert Rpc.parse_request({ 'jsonrpc' => '2.0', 'method' => 'hit' }).notification?
    null_id = Rpc.parse_request({ 'jsonrpc' => '2.0', 'id' => nil, 'method' => 'm' })
    assert_equal [nil, false], [null_id.id, null_id.notification?] # a null id is not a notification
    [
      [1, nil],
      [[], nil],
      [{ 'jsonrpc' => '1.0', 'id' => 3, 'method' => 'm' }, 3],
      [{ 'jsonrpc' => 2.0, 'id' => 3, 'method' => 'm' }, 3],
      [{ 'jsonrpc' => '2.0', 'id' => 'a', 'method' => 1 }, 'a'],
      [{ 'jsonrpc' => '2.0', 'id' => [1], 'method' => 'm' }, nil],
      [{ 'jsonrpc' => '2.0', 'id' => true, 'method' => 'm' }, nil],
      [{ 'jsonrpc' => '2.0', 'id' => 4, 'method' => 'm', 'params' => 'x' }, 4],
      [{ 'jsonrpc' => '2.0', 'id' => 4, 'method' => 'm', 'params' => nil }, 4],
      [{ 'id' => 5, 'method' => 'm' }, 5]
    ].each do |value, id|
      invalid = Rpc.parse_request(value)
      assert_instance_of Rpc::Invalid, invalid, value.inspect
      if id.nil?
        assert_nil invalid.id, value.inspect
      else
        assert_equal id, invalid.id, value.inspect
      end
    end
  end

  def test_sums_take_integers_only
    assert_equal 6, Rpc.sum([1, 2, 3])
    assert_equal 6, Rpc.sum({ 'a' => -4, 'b' => 10 })
    assert_equal 0, Rpc.sum([])
    [nil, [1, '2'], [1.5], [1.0], [true], [nil], [2**63 - 1, 1]].each do |params|
      assert_nil Rpc.sum(params), params.inspect
    end
  end

  def test_errors_carry_the_exact_messages
    assert_equal({ 'jsonrpc' => '2.0', 'id' => 'x', 'error' => { 'code' => -32_601, 'message' => 'Method not found' } },
                 Rpc.error('x', :method_not_found))
    boom = { 'code' => -32_001, 'message' => 'Boom', 'data' => nil }
    assert_equal({ 'jsonrpc' => '2.0', 'id' => 1, 'error' => boom }, Rpc.error(1, boom))
  end

  def test_a_batch_reply_keeps_the_order_and_leaves_out_notifications
    assert_equal [{ 'id' => 1 }, { 'id' => 3 }], Rpc.batch_reply([{ 'id' => 1 }, nil, { 'id' => 3 }])
    assert_nil Rpc.batch_reply([nil, nil])
  end

  # faye's socket as the dispatcher sees it: handlers by event, sent texts.
  class FakeSocket
    Event = Struct.new(:data)
    attr_reader :sent

    def initialize
      @handlers = {}
      @sent = []
    end

    def on(event, &block)
      @handlers[event] = block
    end

    def emit(event, data = nil)
      @handlers.fetch(event).call(Event.new(data))
    end

    def send(text)
      @sent << JSON.parse(text)
    end
  end

  # Counts the callbacks of EM periodic timers (heartbeats, subscription items) that run: a
  # cancelled timer runs none.
  module PeriodicSpy
    @fired = 0
    class << self
      attr_accessor :fired
    end

    def initialize(interval, callback = nil, &block)
      code = callback || block
      super(interval) do
        PeriodicSpy.fired += 1
        code.call
      end
    end
  end
  EM::PeriodicTimer.prepend(PeriodicSpy)

  METHODS = {
    'echo' => { 'reply' => 'params' },
    'slow_echo' => { 'reply' => 'params', 'delay_ms' => 60 },
    'hit' => { 'notify' => 'hits' },
    'hits' => { 'reply' => { 'counter' => 'hits' } },
    'feed' => { 'subscribe' => { 'count' => nil, 'interval_ms' => 10, 'notification' => 'feed' } },
    'cancel' => { 'unsubscribe' => true }
  }.freeze

  # Runs the block on a reactor with a connection; stops the reactor after `seconds`.
  def on_reactor(seconds, heartbeat_ms: nil)
    socket = FakeSocket.new
    connection = nil
    EM.run do
      connection = Rpc::Connection.new(METHODS, heartbeat_ms, socket)
      socket.emit(:open)
      yield socket, connection
      EM.add_timer(seconds) { EM.stop }
    end
    [socket.sent, connection]
  end

  def request(id, method, params = nil)
    request = { 'jsonrpc' => '2.0', 'method' => method }
    request['id'] = id unless id.nil?
    request['params'] = params unless params.nil?
    JSON.generate(request)
  end

  def test_a_delayed_reply_holds_back_nothing_and_a_batch_answers_in_its_order
    sent, = on_reactor(0.2) do |socket|
      socket.emit(:message, request(1, 'slow_echo', ['slow']))
      socket.emit(:message, request(2, 'echo', ['fast']))
      socket.emit(:message, "[#{request(3, 'slow_echo', [3])},#{request(nil, 'hit')},#{request(4, 'hits')}]")
      socket.emit(:message, "[#{request(nil, 'hit')}]") # notifications only: no message
      socket.emit(:message, request(nil, 'nope')) # a notification is never answered, not even an error
    end
    assert_equal [2, 1], sent.first(2).map { |reply| reply['id'] }
    assert_equal [{ 'jsonrpc' => '2.0', 'id' => 3, 'result' => [3] }, { 'jsonrpc' => '2.0', 'id' => 4, 'result' => 1 }],
                 sent[2]
    assert_equal 3, sent.size
  end

  def test_bad_messages_get_the_canonical_errors
    sent, = on_reactor(0.05) do |socket|
      socket.emit(:message, '{"jsonrpc"')
      socket.emit(:message, [1, 2]) # binary
      socket.emit(:message, '[]')
      socket.emit(:message, '[1]')
      socket.emit(:message, request(5, 'nope'))
    end
    codes = sent.map { |reply| reply.is_a?(Array) ? reply.map { |r| r.dig('error', 'code') } : reply.dig('error', 'code') }
    assert_equal [-32_700, -32_700, -32_600, [-32_600], -32_601], codes
  end

  def test_unsubscribe_and_close_stop_the_items
    stopped_at = fired_at_close = fired_later = nil
    sent, connection = on_reactor(0.25) do |socket, conn|
      socket.emit(:message, request(1, 'feed'))
      socket.emit(:message, request(2, 'feed'))
      EM.add_timer(0.055) do
        socket.emit(:message, request(3, 'cancel', ['sub-1']))
        stopped_at = socket.sent.size
      end
      EM.add_timer(0.1) do
        conn.close
        fired_at_close = PeriodicSpy.fired
        EM.add_timer(0.08) { fired_later = PeriodicSpy.fired }
      end
    end
    assert_equal fired_at_close, fired_later, 'a timer ran after the close'
    after_cancel = sent.drop(stopped_at)
    assert_equal({ 'jsonrpc' => '2.0', 'id' => 3, 'result' => true }, sent[stopped_at - 1])
    refute after_cancel.any? { |m| m.dig('params', 'subscription') == 'sub-1' }, 'an item after its unsubscribe'
    assert after_cancel.any? { |m| m.dig('params', 'subscription') == 'sub-2' }
    assert_equal 0, connection.running
    numbers = sent.select { |m| m.dig('params', 'subscription') == 'sub-2' }.map { |m| m.dig('params', 'n') }
    assert_equal (1..numbers.size).to_a, numbers
    assert_operator numbers.size, :<=, 11 # none after the close at 100 ms
  end

  def test_heartbeats_run_from_the_open_until_the_close
    fired_at_close = nil
    sent, connection = on_reactor(0.15, heartbeat_ms: 20) do |_socket, conn|
      EM.add_timer(0.07) do
        conn.close
        fired_at_close = PeriodicSpy.fired
      end
    end
    assert_equal fired_at_close, PeriodicSpy.fired, 'a heartbeat timer ran after the close'
    assert_includes 2..4, sent.size
    assert(sent.all? { |m| m == { 'jsonrpc' => '2.0', 'method' => 'heartbeat' } })
    assert_equal 0, connection.running
  end
end
