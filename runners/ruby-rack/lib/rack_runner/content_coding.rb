# frozen_string_literal: true

require 'zlib'

module RackRunner
  # Content codings of request bodies (`body.content_encodings`), decoded with Ruby's Zlib.
  #
  # Rack has no middleware that inflates request bodies, so this is our own: a handler lists
  # the codings it decodes, any other one is refused (415 with `Accept-Encoding`), and the
  # decoded size is bounded by `max_bytes` while inflating, so that a small upload cannot
  # inflate past it (a compression bomb stops at max_bytes + one zlib chunk).
  module ContentCoding
    # The codings Zlib decodes: gzip (RFC 1952; x-gzip is its alias) and deflate (the zlib
    # format, RFC 1950). Debian packages no Brotli binding for Ruby, so `br` is never decoded.
    WINDOW_BITS = { 'gzip' => Zlib::MAX_WBITS + 16, 'deflate' => Zlib::MAX_WBITS }.freeze
    ALIASES = { 'x-gzip' => 'gzip' }.freeze

    # The body does not decode (a 400).
    class Malformed < StandardError; end

    # The decoded body is larger than the limit (a 413).
    class TooLarge < StandardError; end

    module_function

    # The codings a `Content-Encoding` header lists, in the order they were applied, lower case,
    # aliases resolved, `identity` left out.
    def parse(header)
      return [] if header.nil?

      header.split(',').filter_map do |coding|
        coding = coding.strip.downcase
        coding = ALIASES.fetch(coding, coding)
        coding unless coding.empty? || coding == 'identity'
      end
    end

    # The codings of `declared` this runner can decode, lower case.
    def supported(declared)
      Array(declared).map { |coding| ALIASES.fetch(coding.downcase, coding.downcase) } & WINDOW_BITS.keys
    end

    # `bytes` with `codings` undone (the last applied first), at most `limit` bytes.
    # Raises Malformed or TooLarge.
    def decode(bytes, codings, limit)
      codings.reverse_each { |coding| bytes = inflate(bytes, coding, limit) }
      bytes
    end

    # Inflates one coding. A gzip body may hold several members (RFC 1952 section 2.2), decoded
    # one after the other; anything left after a zlib stream is an error.
    def inflate(bytes, coding, limit)
      out = String.new(capacity: [bytes.bytesize * 4, limit].min, encoding: Encoding::BINARY)
      rest = bytes
      until rest.empty?
        used = inflate_member(rest, WINDOW_BITS.fetch(coding), out, limit)
        rest = rest.byteslice(used, rest.bytesize - used)
        raise Malformed, 'data after the deflate stream' if coding == 'deflate' && !rest.empty?
      end
      out
    end

    # Inflates the stream at the start of `bytes` into `out`; the number of bytes it took.
    def inflate_member(bytes, window_bits, out, limit)
      zstream = Zlib::Inflate.new(window_bits)
      begin
        zstream.inflate(bytes) do |chunk|
          out << chunk
          raise TooLarge, "decoded body over #{limit} bytes" if out.bytesize > limit
        end
        raise Malformed, 'truncated stream' unless zstream.finished?

        zstream.total_in
      ensure
        zstream.close
      end
    rescue Zlib::Error => e
      raise Malformed, e.message
    end
  end
end
