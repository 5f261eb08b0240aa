#include "daemon/web_assets.h"

#include <map>
#include <string>

namespace mlcron {
namespace {

std::string_view ContentType(std::string_view name) {
  static const std::map<std::string_view, std::string_view> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  auto it = kTypes.find(name.substr(dot));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace

const WebAsset* FindWebAsset(std::string_view name) {
  static const std::map<std::string, WebAsset, std::less<>> assets = [] {
    std::map<std::string, WebAsset, std::less<>> m;
    for (const WebAssetBytes& f : EmbeddedWebFiles()) {
      m[std::string(f.name)] = WebAsset{f.data, ContentType(f.name)};
    }
    return m;
  }();
  auto it = assets.find(name);
  return it == assets.end() ? nullptr : &it->second;
}

}  // namespace mlcron
