// Captures a child's stdout+stderr through a pipe into its per-run log file, keeping at most
// `max_bytes` (then one truncation notice). Reads asynchronously on the loop's io_context.
// Finish() drains what is already in the pipe without waiting for EOF (an escaped
// grandchild may hold the write end open forever) and closes the file. Loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "daemon/status.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

class LogCapture {
 public:
  // Creates the pipe and opens (creating parent folders) the log file for appending.
  static Result<std::unique_ptr<LogCapture>> Open(boost::asio::io_context& io,
                                                  const std::string& path, std::uint64_t max_bytes);
  virtual ~LogCapture() = default;
  // The write end for the child; the caller closes its own copy after the spawn by calling
  // CloseWriteEnd().
  virtual int write_fd() const = 0;
  virtual void CloseWriteEnd() = 0;
  // Starts asynchronous reading.
  virtual void Start() = 0;
  // Drains without blocking, appends a truncation notice if the cap was hit, closes.
  virtual void Finish() = 0;
  virtual std::uint64_t bytes_written() const = 0;
};

}  // namespace mlcron
