#include "daemon/run_output.h"

#include <sys/stat.h>

#include <fstream>

namespace mlcron {

std::vector<std::string> ReadOutputHead(const std::string& path, size_t max_lines,
                                        size_t max_bytes) {
  std::vector<std::string> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string buffer(max_bytes, '\0');
  in.read(buffer.data(), static_cast<std::streamsize>(max_bytes));
  buffer.resize(static_cast<size_t>(in.gcount()));
  struct stat st {};
  const size_t total = ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;

  size_t used = 0;
  size_t pos = 0;
  while (pos < buffer.size() && out.size() < max_lines) {
    size_t end = buffer.find('\n', pos);
    // A last line cut by max_bytes is left for the "more" note, unless the file ends there.
    if (end == std::string::npos) {
      if (buffer.size() < total) break;
      end = buffer.size();
    }
    if (end > pos) out.push_back(buffer.substr(pos, end - pos));
    pos = end + 1;
    used = std::min(pos, buffer.size());
  }
  if (total > used) {
    out.push_back("… " + std::to_string(total - used) + " more bytes in " + path);
  }
  return out;
}

}  // namespace mlcron
