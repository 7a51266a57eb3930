# frozen_string_literal: true

require 'csv'
require 'json'

module RackRunner
  # `response.stream`: a streaming Rack body. Puma sends a body that is not an Array without
  # Content-Length (chunked on HTTP/1.1) and writes every chunk to the socket as it is yielded.
  class ItemStream
    CONTENT_TYPES = {
      'ndjson' => 'application/x-ndjson',
      'csv' => 'text/csv; charset=utf-8',
      'text' => 'text/plain; charset=utf-8'
    }.freeze

    # The stream of a handler: its items already written out, and the pause between them.
    class Spec
      attr_reader :content_type, :chunks, :interval

      def initialize(spec)
        format = spec.fetch('format')
        @content_type = CONTENT_TYPES.fetch(format)
        @chunks = spec.fetch('items').map { |item| Spec.render(format, item).freeze }.freeze
        @interval = spec.fetch('interval_ms', 0) / 1000.0
      end

      # One item's bytes: compact JSON and LF; an RFC 4180 line ending in CRLF (Ruby's CSV quotes
      # a field holding the separator, a quote, CR or LF, and doubles quotes; numbers and booleans
      # are written as their JSON text); or the string as it is.
      def self.render(format, item)
        case format
        when 'ndjson' then "#{JSON.generate(item)}\n"
        when 'csv'
          fields = item.map { |field| field.is_a?(String) ? field : JSON.generate(field) }
          CSV.generate_line(fields, row_sep: "\r\n", quote_empty: false)
        else item
        end
      end
    end

    # `socket`: the connection (env['puma.socket']); `shutdown`: ends the stream early.
    def initialize(spec, socket, shutdown)
      @spec = spec
      @socket = socket
      @shutdown = shutdown
    end

    def each
      # Puma corks the socket while it answers; each item must reach the client as it is written.
      Sockets.uncork(@socket)
      @spec.chunks.each_with_index do |chunk, index|
        break if index.positive? && @spec.interval.positive? && @shutdown.wait(@spec.interval)
        break if @shutdown.requested?

        yield chunk
      end
    end
  end
end
