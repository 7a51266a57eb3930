# frozen_string_literal: true

require 'json'
require 'set'
require 'eventmachine'

module RackRunner
  module Rpc
    # One connection of an `rpc` handler, on faye's EventMachine reactor: every callback, timer
    # and send runs on the reactor thread, so sends are one at a time, and a request that waits
    # (`delay_ms`) is an EM timer that holds back nothing behind it. Counters, subscriptions and
    # timers belong to the connection; its close cancels every timer.
    class Connection
      # What serving one request ends in: the reply (nil: none) and what follows its sending
      # (a subscription's items).
      Outcome = Struct.new(:reply, :after_send)

      HEARTBEAT = Rpc.notification('heartbeat').freeze

      # `socket`: anything with faye's `on(event) { |event| }` and `send(text)`.
      def initialize(methods, heartbeat_ms, socket)
        @methods = methods
        @socket = socket
        @open = true
        @counters = Hash.new(0)
        @subscriptions = {}
        @timers = Set.new
        @subscription_ids = 0
        socket.on(:open) { start_heartbeat(heartbeat_ms) if heartbeat_ms.to_i.positive? }
        socket.on(:message) { |event| receive(event.data) }
        socket.on(:close) { close }
      end

      # A data message: text (one request or a batch) or binary (bytes: a parse error).
      def receive(data)
        value = data.is_a?(String) ? parse(data) : :not_json
        if value == :not_json
          deliver(Rpc.error(nil, :parse))
        elsif value.is_a?(Array) && !value.empty?
          serve_batch(value)
        else
          serve(value) { |outcome| finish(outcome) }
        end
      end

      # Stops every timer and subscription; nothing is sent after.
      def close
        @open = false
        @subscriptions.each_value(&:cancel)
        @subscriptions.clear
        @timers.each(&:cancel)
        @timers.clear
      end

      # How many timers (delayed replies, heartbeat) and subscriptions are running.
      def running
        @timers.size + @subscriptions.size
      end

      private

      def parse(text)
        JsonText.parse(text)
      rescue JSON::ParserError
        :not_json
      end

      def start_heartbeat(every_ms)
        @timers << EM::PeriodicTimer.new(every_ms / 1000.0) { deliver(HEARTBEAT) }
      end

      def finish(outcome)
        deliver(outcome.reply) if outcome.reply
        outcome.after_send&.call
      end

      # The elements are served at once; when the last is done, one array in batch order.
      def serve_batch(values)
        outcomes = Array.new(values.size)
        left = values.size
        values.each_with_index do |value, index|
          serve(value) do |outcome|
            outcomes[index] = outcome
            left -= 1
            next unless left.zero?

            reply = Rpc.batch_reply(outcomes.map(&:reply))
            deliver(reply) if reply
            outcomes.each { |done| done.after_send&.call }
          end
        end
      end

      # Serves one request object; its effect happens now, `done` gets the outcome now or after
      # the method's delay.
      def serve(value, &done)
        request = Rpc.parse_request(value)
        return done.call(Outcome.new(Rpc.error(request.id, :invalid_request))) if request.is_a?(Rpc::Invalid)

        outcome, delay_ms = dispatch(request)
        outcome = Outcome.new(nil, outcome.after_send) if request.notification? # never a reply
        delay_ms.positive? ? later(delay_ms) { done.call(outcome) } : done.call(outcome)
      end

      # The outcome of a valid request, and how long its reply waits.
      def dispatch(request)
        method = @methods[request.method]
        id = request.id
        return [Outcome.new(Rpc.error(id, :method_not_found)), 0] unless method.is_a?(Hash)

        if method.key?('reply') then [Outcome.new(reply(method['reply'], request)), method['delay_ms'].to_i]
        elsif method.key?('notify') then [Outcome.new(Rpc.result(id, @counters[method['notify']] += 1)), 0]
        elsif method.key?('subscribe') then [subscribe(method['subscribe'], id), 0]
        elsif method.key?('unsubscribe') then [Outcome.new(unsubscribe(request)), 0]
        else [Outcome.new(Rpc.error(id, method['fail'])), 0]
        end
      end

      def reply(spec, request)
        id = request.id
        case spec
        when 'params' then Rpc.result(id, request.params)
        when 'sum'
          total = Rpc.sum(request.params)
          total.nil? ? Rpc.error(id, :invalid_params) : Rpc.result(id, total)
        else Rpc.result(id, spec.key?('counter') ? @counters[spec['counter']] : spec['value'])
        end
      end

      def later(delay_ms, &block)
        timer = EM::Timer.new(delay_ms / 1000.0) do
          @timers.delete(timer)
          block.call
        end
        @timers << timer
      end

      # Registers the subscription now; its items start once the reply has been sent.
      def subscribe(spec, id)
        @subscription_ids += 1
        name = "sub-#{@subscription_ids}"
        subscription = Subscription.new(name, spec) { |message| deliver(message) }
        subscription.on_end { @subscriptions.delete(name) }
        @subscriptions[name] = subscription
        Outcome.new(Rpc.result(id, name), -> { subscription.start if @open })
      end

      # True if params name a running subscription, which stops before this reply is sent.
      def unsubscribe(request)
        params = request.params
        return Rpc.error(request.id, :invalid_params) unless params.is_a?(Array) && params.size == 1 && params[0].is_a?(String)

        stopped = @subscriptions.delete(params[0])
        stopped&.cancel
        Rpc.result(request.id, !stopped.nil?)
      end

      def deliver(message)
        @socket.send(JSON.generate(message)) if @open
      end
    end

    # One subscription's items, `n` = 1, 2, ... every `interval_ms` (an EM periodic timer: the
    # next one an interval after the previous), `count` of them or until cancelled.
    class Subscription
      def initialize(name, spec, &send)
        @name = name
        @count = spec['count']
        @interval = [spec['interval_ms'].to_i, 1].max / 1000.0
        @notification = spec['notification']
        @timestamp_field = spec['timestamp_field']
        @send = send
        @n = 0
        @cancelled = false
      end

      def on_end(&block)
        @on_end = block
      end

      def start
        return if @cancelled
        return finish if @count&.zero?

        @timer = EM::PeriodicTimer.new(@interval) { tick }
      end

      def cancel
        @cancelled = true
        @timer&.cancel
      end

      private

      def tick
        return cancel if @cancelled

        @n += 1
        params = { 'subscription' => @name, 'n' => @n }
        params[@timestamp_field] = Rpc.now_us if @timestamp_field
        @send.call(Rpc.notification(@notification, params))
        finish if @count && @n >= @count
      end

      def finish
        cancel
        @on_end&.call
      end
    end
  end
end
