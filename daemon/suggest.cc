#include "daemon/suggest.h"

#include <algorithm>

namespace mlcron {

size_t EditDistance(std::string_view a, std::string_view b) {
  // Two rows of the classic table: O(|a|·|b|) time, O(|b|) memory.
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  constexpr size_t kMaxDistance = 2;
  std::optional<std::string> best;
  size_t best_distance = kMaxDistance + 1;
  for (const std::string& candidate : candidates) {
    // Cheap bound first: the distance is at least the difference in length.
    const size_t length_gap = candidate.size() > word.size() ? candidate.size() - word.size()
                                                             : word.size() - candidate.size();
    if (length_gap >= best_distance) continue;
    const size_t d = EditDistance(word, candidate);
    if (d < best_distance && d < word.size() && d < candidate.size()) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::optional<std::string> match = ClosestMatch(word, candidates);
  if (!match) return "";
  return "; did you mean \"" + *match + "\"?";
}

}  // namespace mlcron
