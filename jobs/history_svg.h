// The plot of `mlcron models history --plot`: a self-contained SVG of one segment's versions
// (x = creation time, y = the primary holdout metric), production periods shaded behind.
// Written by hand, no plotting library; a pure function of its inputs, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "jobs/model_history.h"

namespace date {
class time_zone;
}

namespace mlcron {

struct HistorySvgOptions {
  int width = 800;
  int height = 450;
  const date::time_zone* tz = nullptr;  // of the time labels; null = UTC
};

// Every element carries a class so the picture can be styled and checked:
//   rect.production      one per production period (an open period runs to the right edge)
//   polyline.trend       through the drawn versions in creation order (two or more)
//   circle.version.full  a full version (filled); circle.version.incremental (hollow)
//   path.rejected        a cross over each rejected version
//   text.note            how many versions had no value and are not drawn (when any)
// plus the title, axes, ticks and a legend (legend-* classes). Versions without a metric
// value are not drawn.
std::string RenderHistorySvg(const HistoryData& history, const HistorySvgOptions& options = {});

// Text and attribute values escaped for XML: & < > " '.
std::string EscapeXml(std::string_view text);

// "model m [E0]: log_loss per version"; "model m: ..." for an unsegmented model.
std::string HistoryTitle(const HistoryData& history);

}  // namespace mlcron
