// "Did you mean" suggestions for near-miss names in configs and on the command line, by
// edit distance. Only called on error paths, so a linear scan of the candidates is fine.
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlcron {

// Levenshtein distance (insert, delete, substitute; each costs 1).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible typo: distance
// at most 2, and less than the word's length (so "x" does not suggest "y"). Ties go to the
// earliest candidate.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

// `; did you mean "schedule"?` or "" when nothing is close: ready to append to a message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace mlcron
