# frozen_string_literal: true

require 'base64'
require 'json'
require 'faye/websocket'
require_relative 'rpc'

module RackRunner
  # One WebSocket handler, served by faye-websocket over Puma's rack.hijack (the conversation
  # runs on faye's EventMachine reactor thread, so it needs no Puma thread; over TLS through
  # TlsBridge).
  class WebSocketEndpoint
    UPGRADE_REQUIRED = [426, { 'upgrade' => 'websocket', 'content-type' => 'text/plain; charset=utf-8' },
                        ['Upgrade Required']].freeze

    # A fixture message as faye sends it: a String is sent as text, an Array of bytes as binary.
    def self.message_of(message)
      if message.key?('text') then message['text']
      elsif message.key?('json') then JSON.generate(message['json'])
      else Base64.strict_decode64(message['binary_base64']).bytes
      end
    end

    # An exception in a callback is logged instead of stopping the reactor (and every socket).
    EventMachine.error_handler do |error|
      warn "ruby-rack: websocket: #{error.class}: #{error.message}"
    end

    attr_reader :greeting, :close, :drop_after

    def initialize(handler)
      @behavior = handler['behavior']
      @validator = handler.key?('schema') ? Schema.compile(handler['schema']) : nil
      @greeting = handler['greeting'] && self.class.message_of(handler['greeting'])
      @subprotocols = handler['subprotocols']
      @auth = handler['auth']
      @close = handler['close']
      @drop_after = handler.dig('drop', 'after')
      @rpc_methods = handler['methods'] if @behavior == 'rpc'
      @heartbeat_ms = handler['heartbeat_ms']
    end

    def call(env)
      return [UPGRADE_REQUIRED[0], UPGRADE_REQUIRED[1].dup, UPGRADE_REQUIRED[2]] unless Faye::WebSocket.websocket?(env)
      return [@auth['reject_status'], {}, ['']] if @auth && !authorized?(env)

      # faye picks the first subprotocol the client offers that is in the list.
      TlsBridge.wrap(env) if TlsBridge.tls?(env)
      socket = Faye::WebSocket.new(env, @subprotocols)
      if @rpc_methods
        Rpc::Connection.new(@rpc_methods, @heartbeat_ms, socket)
      else
        Conversation.new(self, socket)
      end
      socket.rack_response
    end

    # The reply to one data message (nil: none), per behaviour.
    def answer(data)
      case @behavior
      when 'echo' then data
      when 'validate' then JSON.generate(validate(data))
      end
    end

    private

    # Every named query parameter (first occurrence) and header has the given value.
    def authorized?(env)
      query = Params.pairs(env['QUERY_STRING'])
      query_ok = (@auth['query'] || {}).all? do |name, expected|
        pair = query.find { |key, _| key == name }
        pair && pair[1] == expected
      end
      headers_ok = (@auth['headers'] || {}).all? { |name, expected| env[Params.env_key(name)] == expected }
      query_ok && headers_ok
    end

    def validate(data)
      return { 'type' => 'error', 'title' => 'Unsupported message type' } unless data.is_a?(String)

      begin
        value = JsonText.parse(data)
      rescue JSON::ParserError
        return { 'type' => 'error', 'title' => 'Malformed message' }
      end
      errors = @validator ? Schema.errors(@validator, value) : []
      return { 'type' => 'ack', 'message' => value } if errors.empty?

      entries = errors.each_with_index.sort_by { |(pointer, _), i| [pointer, i] }.map(&:first)
                      .uniq(&:first).map { |pointer, message| { 'pointer' => pointer, 'message' => message } }
      { 'type' => 'error', 'title' => 'Message validation failed', 'errors' => entries }
    end

    # One connection: greeting, replies, and the server's close or drop once `after` data
    # messages have been answered. Pings are answered by the driver and are not counted; a
    # client's close is answered by the driver with the same code.
    class Conversation
      def initialize(endpoint, socket)
        @endpoint = endpoint
        @socket = socket
        @answered = 0
        socket.on(:open) { greet }
        socket.on(:message) { |event| receive(event.data) }
      end

      private

      def greet
        @socket.send(@endpoint.greeting) if @endpoint.greeting
        settle
      end

      def receive(data)
        reply = @endpoint.answer(data)
        @answered += 1
        @socket.send(reply) if reply
        settle
      end

      def settle
        close = @endpoint.close
        if close && close['after'] == @answered
          @socket.close(close['code'], close['reason'] || '')
        elsif @endpoint.drop_after == @answered
          # Close the TCP connection once the replies are written, without a close frame.
          # faye has no public call for it: begin_close is what it runs when the peer vanishes.
          @socket.__send__(:begin_close, '', 1006, wait_for_write: true)
        end
      end
    end
  end
end
