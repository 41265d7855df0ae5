#pragma once

// The training subcommands of magpie-cli (built only with the training engine,
// MAGPIE_HAVE_TRAINING). Each takes the shared Context of cli.h.
namespace magpie::cli {
struct Context;

int cmdEmbed(const Context &c);
int cmdTrain(const Context &c);
int cmdScore(const Context &c);
int cmdSuggest(const Context &c);
int cmdAnswer(const Context &c);
int cmdEval(const Context &c);
int cmdSimilar(const Context &c);
int cmdChain(const Context &c);
int cmdBackbone(const Context &c);

// Usage lines for the main help text.
extern const char *const kTrainingUsage;

} // namespace magpie::cli
