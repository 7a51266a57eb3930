# frozen_string_literal: true

require 'json'
require 'socket'

module RackRunner
  # One SSE handler: the listed items, then the counter, written in the exact wire format by a
  # streaming Rack body.
  class SseEndpoint
    HEADERS = { 'content-type' => 'text/event-stream', 'cache-control' => 'no-cache' }.freeze

    # The wire text of one listed item.
    def self.render(item)
      return ": #{item['comment']}\n\n" if item.key?('comment')

      out = +''
      out << "id: #{item['id']}\n" if item.key?('id')
      out << "event: #{item['event']}\n" if item.key?('event')
      out << "retry: #{item['retry']}\n" if item.key?('retry')
      if item.key?('data')
        # One data: line per line of the string (\r\n, \n and \r end a line).
        lines = item['data'].split(/\r\n|\r|\n/, -1)
        lines = [''] if lines.empty? # "".split gives no field at all
        lines.each { |line| out << "data: #{line}\n" }
      elsif item.key?('json')
        out << "data: #{JSON.generate(item['json'])}\n"
      end
      out << "\n"
    end

    def initialize(handler, shutdown)
      # [id or nil, wire text] per listed item (comments have no id).
      @items = (handler['events'] || []).map do |item|
        [item.key?('comment') ? nil : item['id'], self.class.render(item).freeze]
      end
      counter = handler['counter']
      if counter
        @count = counter['count'] # nil: without end
        @event_line = counter['event'] ? "event: #{counter['event']}\n" : ''
        @timestamp_key = counter['timestamp_field'] && ",#{JSON.generate(counter['timestamp_field'])}:"
      end
      @counter = !counter.nil?
      @interval = (handler['interval_ms'] || 0) / 1000.0
      @resume = handler['resume'] == true
      @hold = handler['end'] == 'hold'
      @shutdown = shutdown
    end

    def call(env)
      index, n = start(env['HTTP_LAST_EVENT_ID'])
      [200, HEADERS.dup, Stream.new(self, env['puma.socket'], index, n)]
    end

    # Where a stream starts: [listed item index, counter value]. With `resume`, after the item
    # named by Last-Event-ID (listed ids first, then counter ids); an unknown id starts over.
    def start(last_event_id)
      return [0, 1] unless @resume && last_event_id

      found = @items.index { |id, _| id == last_event_id }
      return [found + 1, 1] if found

      if @counter && /\A[1-9][0-9]*\z/.match?(last_event_id) && counter_has?(last_event_id.to_i)
        return [@items.size, last_event_id.to_i + 1]
      end

      [0, 1]
    end

    def counter_has?(n)
      @counter && (@count.nil? || n <= @count)
    end

    def item(index)
      @items[index]&.last
    end

    def counter_event(n)
      out = +"id: #{n}\n#{@event_line}data: {\"n\":#{n}"
      out << @timestamp_key << Process.clock_gettime(Process::CLOCK_REALTIME, :microsecond).to_s if @timestamp_key
      out << "}\n\n"
    end

    attr_reader :interval, :hold, :shutdown

    # The streaming body. Puma writes (and flushes) every chunk as it is yielded; it ends the
    # stream when a write fails because the client left.
    class Stream
      def initialize(endpoint, socket, index, n)
        @endpoint = endpoint
        @socket = socket
        @index = index
        @n = n
      end

      def each
        # Puma corks the socket while it answers; SSE must reach the client as it is written.
        Sockets.uncork(@socket)
        first = true
        while (chunk = next_chunk)
          unless first || @endpoint.interval.zero?
            break if @endpoint.shutdown.wait(@endpoint.interval)
          end
          first = false
          break if @endpoint.shutdown.requested?

          yield chunk
        end
        wait_for_client_to_leave if @endpoint.hold && !@endpoint.shutdown.requested?
      end

      private

      def next_chunk
        if (chunk = @endpoint.item(@index))
          @index += 1
          chunk
        elsif @endpoint.counter_has?(@n)
          @n += 1
          @endpoint.counter_event(@n - 1)
        end
      end

      # `end: hold`: keep the stream open until the client closes its side (or the app stops).
      # Watches the TCP socket itself (under TLS too: a peek sees the records, not the text).
      def wait_for_client_to_leave
        tcp = @socket&.to_io
        loop do
          ready, = IO.select([tcp, @endpoint.shutdown.reader].compact)
          return if ready.nil? || ready.include?(@endpoint.shutdown.reader)

          begin
            return if tcp.recv_nonblock(1, Socket::MSG_PEEK).empty? # EOF: the client left
          rescue IO::WaitReadable
            next
          rescue IOError, SystemCallError
            return
          end
          sleep 0.05 # the client sent bytes (a next request): it is still there
        end
      end
    end
  end
end
