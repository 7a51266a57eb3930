# frozen_string_literal: true

module RackRunner
  # The app's stop signal, safe to raise from a trap handler: a pipe whose write end is closed,
  # so that every waiter (IO.select on `reader`) wakes at once.
  class Shutdown
    attr_reader :reader

    def initialize
      @reader, @writer = IO.pipe
      @requested = false
    end

    def request!
      return if @requested

      @requested = true
      @writer.close
    end

    def requested?
      @requested
    end

    # Sleeps up to `seconds`; true as soon as a stop is requested.
    def wait(seconds = nil)
      return true if @requested

      !IO.select([@reader], nil, nil, seconds).nil?
    end
  end
end
