// Where a config value was written, for FILE:LINE:COL messages.
#pragma once

namespace mlcron {

struct SourcePos {
  int line = 0;  // 1-based; 0 when unknown
  int col = 0;
};

}  // namespace mlcron
