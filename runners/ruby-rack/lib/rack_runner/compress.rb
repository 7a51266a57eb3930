# frozen_string_literal: true

require 'zlib'
require 'rack/utils'

module RackRunner
  # `response.compress`: a Rack middleware that encodes a handler's reply with Zlib.
  #
  # Rack::Deflater cannot honour the vocabulary exactly, so this is our own: it has no minimum
  # size, sets `Vary` only on the replies it considers, answers 406 when the request refuses
  # every coding it knows (`identity;q=0`) where the vocabulary sends the body as is, lets
  # `identity` outbid a coding the client accepts, reads coding names and `q` case-sensitively,
  # and offers gzip only (no deflate).
  class Compress
    # The codings Zlib writes; Debian packages no Brotli binding for Ruby, so `br` is never used.
    ENCODERS = {
      'gzip' => ->(bytes) { Zlib.gzip(bytes) },
      'deflate' => ->(bytes) { Zlib::Deflate.deflate(bytes) } # the zlib format (RFC 1950)
    }.freeze

    QVALUE = /\A(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)\z/.freeze

    # The coding to send for an `Accept-Encoding` header, among `offered` (in the handler's
    # order), or nil for none (RFC 9110 section 12.5.3): a coding is accepted with the q-value
    # the header gives it, else that of `*`; q=0 refuses it; the highest q wins, ties go to the
    # handler's order. `identity` is what is sent when nothing else is accepted, never a rival.
    def self.negotiate(header, offered)
      return nil if header.nil?

      weights = {}
      header.split(',').each do |item|
        coding, *params = item.split(';').map(&:strip)
        next if coding.nil? || coding.empty?

        q = params.reduce(1.0) do |weight, param|
          name, value = param.split('=', 2).map(&:strip)
          name.casecmp?('q') ? (QVALUE.match?(value.to_s) ? value.to_f : nil) : weight
        end
        weights[coding.downcase] ||= q if q # a malformed q-value drops the item
      end
      weights['gzip'] ||= weights['x-gzip'] if weights.key?('x-gzip')
      best = offered.map { |coding| [coding, weights.fetch(coding) { weights['*'] }] }
                    .select { |_, q| q&.positive? }
                    .max_by.with_index { |(_, q), index| [q, -index] }
      best&.first
    end

    # `spec`: the handler's `compress` ({"min_bytes", "encodings"}).
    def initialize(app, spec)
      @app = app
      @min_bytes = spec.fetch('min_bytes', 0)
      @offered = spec.fetch('encodings', ['gzip']).map(&:downcase) & ENCODERS.keys
    end

    def call(env)
      status, headers, body = @app.call(env)
      headers = Headers.add_vary(headers, 'Accept-Encoding')
      return [status, headers, body] unless compressible?(status, headers, body)

      content = body.join
      return [status, headers, body] if content.empty? || content.bytesize < @min_bytes

      coding = self.class.negotiate(env['HTTP_ACCEPT_ENCODING'], @offered)
      return [status, headers, body] unless coding

      encoded = ENCODERS.fetch(coding).call(content)
      headers['content-encoding'] = coding
      headers['content-length'] = encoded.bytesize.to_s
      [status, headers, [encoded]]
    end

    private

    # Error replies (4xx) are never encoded, nor replies without a body, nor a stream (not an
    # Array), nor a body the handler already encoded.
    def compressible?(status, headers, body)
      !(400..499).cover?(status) && !Rack::Utils::STATUS_WITH_NO_ENTITY_BODY.key?(status) &&
        body.is_a?(Array) && !headers.key?('content-encoding')
    end
  end

  # Header helpers for the middlewares (Rack 2 headers: a Hash, lower-case names here).
  module Headers
    module_function

    # A copy of `headers` whose `Vary` lists `name` (once, beside what it listed).
    def add_vary(headers, name)
      headers = headers.dup
      vary = headers['vary'].to_s.split(',').map(&:strip).reject(&:empty?)
      return headers if vary.any? { |value| value == '*' || value.casecmp?(name) }

      headers['vary'] = (vary << name).join(', ')
      headers
    end
  end
end
