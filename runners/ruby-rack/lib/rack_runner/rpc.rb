# frozen_string_literal: true

require 'json'
require 'eventmachine'

module RackRunner
  # The `rpc` WebSocket handler: JSON-RPC 2.0 over text messages, with the methods the fixture
  # declares (fixtures/README.md, "RPC handlers"). The module functions are the pure rules
  # (request validation, integer sums, reply objects); `Connection` is one connection's
  # dispatcher.
  module Rpc
    # JSON-RPC 2.0's errors, with the exact messages the vocabulary sends.
    ERRORS = {
      parse: [-32_700, 'Parse error'],
      invalid_request: [-32_600, 'Invalid Request'],
      method_not_found: [-32_601, 'Method not found'],
      invalid_params: [-32_602, 'Invalid params']
    }.freeze

    # The model's integers are 64-bit: a sum outside is invalid params, as in the reference.
    INT64 = (-2**63..(2**63) - 1).freeze

    # A valid request: `id` is nil for a notification (`notification?`), `params` nil when absent.
    Request = Struct.new(:id, :method, :params, :notification?, keyword_init: true)
    # An invalid request object, and the id its error reply carries.
    Invalid = Struct.new(:id)

    module_function

    # Checks one request object (a batch's element or a whole message): a Request or an Invalid.
    def parse_request(value)
      return Invalid.new(nil) unless value.is_a?(Hash)

      id = value['id']
      reply_id = id.is_a?(String) || id.is_a?(Numeric) ? id : nil
      id_ok = !value.key?('id') || id.nil? || id.is_a?(String) || id.is_a?(Numeric)
      params = value['params']
      params_ok = !value.key?('params') || params.is_a?(Array) || params.is_a?(Hash)
      return Invalid.new(reply_id) unless value['jsonrpc'] == '2.0' && value['method'].is_a?(String) && id_ok && params_ok

      Request.new(id: id, method: value['method'], params: params, notification?: !value.key?('id'))
    end

    # The sum of the integers in params (an array, or an object's values); nil when params are
    # absent or hold anything else (a fraction, a boolean, a string), or the sum leaves 64 bits.
    def sum(params)
      values = case params
               when Array then params
               when Hash then params.values
               else return nil
               end
      return nil unless values.all? { |v| v.is_a?(Integer) }

      total = 0
      values.each do |v|
        total += v
        return nil unless INT64.cover?(total)
      end
      total
    end

    def result(id, result)
      { 'jsonrpc' => '2.0', 'id' => id, 'result' => result }
    end

    # The reply for one of `ERRORS` by its key, or for a method's own error object.
    def error(id, kind_or_object)
      object = if kind_or_object.is_a?(Hash) then kind_or_object
               else
                 code, message = ERRORS.fetch(kind_or_object)
                 { 'code' => code, 'message' => message }
               end
      { 'jsonrpc' => '2.0', 'id' => id, 'error' => object }
    end

    def notification(method, params = nil)
      params.nil? ? { 'jsonrpc' => '2.0', 'method' => method } : { 'jsonrpc' => '2.0', 'method' => method, 'params' => params }
    end

    # The one message answering a batch, from its elements' replies in batch order (nil where an
    # element gets none): an array, or nil when no element gets a reply.
    def batch_reply(replies)
      answered = replies.compact
      answered.empty? ? nil : answered
    end

    # The Unix time in microseconds.
    def now_us
      Process.clock_gettime(Process::CLOCK_REALTIME, :microsecond)
    end
  end
end

require_relative 'rpc_connection'
