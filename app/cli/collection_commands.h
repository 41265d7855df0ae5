#pragma once

#include <QCoreApplication>

#include <memory>

namespace magpie::cli {

struct Context;

// magpie-cli collection create|add|remove|list|export
int cmdCollection(const Context &c);

// The application object for magpie-cli. `collection export` paints text onto
// print sheets, and Qt paints text only under a QGuiApplication: for that
// command this returns one on the offscreen platform (no display is ever
// used) and sets the large-image allocator policy; every other command gets a
// plain QCoreApplication.
std::unique_ptr<QCoreApplication> makeApplication(int &argc, char **argv);

} // namespace magpie::cli
