# frozen_string_literal: true

require 'socket'

module RackRunner
  # What the streams do with the connection under Puma, plain TCP or TLS (Puma::MiniSSL::Socket,
  # whose TCP socket is `to_io`).
  module Sockets
    module_function

    # Clears TCP_CORK, which Puma sets while it answers and which would hold small writes back
    # for up to 200 ms.
    def uncork(socket)
      tcp = socket&.to_io
      tcp.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_CORK, 0) if tcp && defined?(Socket::TCP_CORK)
    rescue IOError, SystemCallError
      nil
    end
  end
end
