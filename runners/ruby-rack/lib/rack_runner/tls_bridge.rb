# frozen_string_literal: true

require 'socket'

module RackRunner
  # WebSockets over Puma's TLS. faye-websocket runs a hijacked connection on EventMachine,
  # which attaches the socket's file descriptor and reads it itself; over TLS Puma hands out a
  # Puma::MiniSSL::Socket, whose bytes on that descriptor are TLS records that only Puma's
  # engine decrypts. So under TLS the hijack gives faye one end of a socket pair, and a thread
  # pumps the plain bytes between the other end and the TLS socket (both ways, in order); when
  # either side ends, the other is closed.
  module TlsBridge
    CHUNK = 16 * 1024

    module_function

    # Whether the request came over Puma's TLS.
    def tls?(env)
      defined?(Puma::MiniSSL::Socket) && env['puma.socket'].is_a?(Puma::MiniSSL::Socket)
    end

    # Makes `env`'s rack.hijack hand out the bridged end of a socket pair.
    def wrap(env)
      hijack = env['rack.hijack']
      env['rack.hijack'] = lambda do
        tls = hijack.call # Puma's: marks the connection hijacked, returns its socket
        inner, outer = UNIXSocket.pair
        Thread.new { pump(tls, outer) }
        env['rack.hijack_io'] = inner
      end
      env
    end

    # Copies TLS plain text to `plain` and `plain` to TLS until either ends.
    def pump(tls, plain)
      tcp = tls.to_io
      loop do
        # The engine may hold decrypted bytes already (read with the request): read first.
        break unless forward_tls(tls, plain)

        ready, = IO.select([tcp, plain])
        break if ready.include?(plain) && !forward_plain(plain, tls)
      end
    rescue IOError, SystemCallError, Puma::MiniSSL::SSLError
      nil
    ensure
      plain.close unless plain.closed?
      tls.close unless tls.closed?
    end

    # Everything TLS has to read now, written to `plain`; false at its end.
    def forward_tls(tls, plain)
      loop do
        data = tls.read_nonblock(CHUNK)
        return false if data.nil?

        plain.write(data)
      end
    rescue IO::WaitReadable
      true
    end

    # What `plain` has to read now, written to TLS; false at its end.
    def forward_plain(plain, tls)
      data = plain.read_nonblock(CHUNK, exception: false)
      return false if data.nil?

      tls.write(data) if data.is_a?(String)
      true
    end
  end
end
