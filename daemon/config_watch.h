// Watches the config file with inotify and calls back when it may have changed. It watches
// the folder, not the file, because editors and config managers replace files by rename.
// Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "daemon/status.h"

namespace boost::asio {
class io_context;
}

namespace mlcron {

class ConfigWatch {
 public:
  static Result<std::unique_ptr<ConfigWatch>> Start(boost::asio::io_context& io,
                                                    const std::string& path,
                                                    std::function<void()> on_change);
  virtual ~ConfigWatch() = default;
};

}  // namespace mlcron
