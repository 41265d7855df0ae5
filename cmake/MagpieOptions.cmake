# One interface target carries the project-wide compile flags; every Magpie
# target links it PRIVATE. Nothing here touches the global CMAKE_CXX_FLAGS.
add_library(magpie_options INTERFACE)
add_library(Magpie::Options ALIAS magpie_options)
target_compile_definitions(magpie_options INTERFACE
    QT_NO_KEYWORDS
    QT_NO_CAST_FROM_ASCII
    QT_NO_CAST_TO_ASCII
    QT_USE_QSTRINGBUILDER
    QT_DISABLE_DEPRECATED_BEFORE=0x060400)
target_compile_options(magpie_options INTERFACE
    -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Woverloaded-virtual)
# The repository root is the include root: #include <core/library.h>
target_include_directories(magpie_options INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)

set(MAGPIE_SANITIZE "" CACHE STRING "Sanitizers to enable, e.g. address;undefined")
if(MAGPIE_SANITIZE)
    list(JOIN MAGPIE_SANITIZE "," _san)
    target_compile_options(magpie_options INTERFACE -fsanitize=${_san} -fno-omit-frame-pointer)
    target_link_options(magpie_options INTERFACE -fsanitize=${_san})
endif()
