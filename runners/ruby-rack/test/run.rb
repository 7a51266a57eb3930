# frozen_string_literal: true

# Runs every test: `ruby test/run.rb` (from the runner's folder or anywhere).
Dir[File.join(__dir__, '*_test.rb')].sort.each { |file| require file }
