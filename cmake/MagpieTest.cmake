# magpie_add_test(<name> SOURCES ... LIBS ... [LABELS ...] [GUI])
# Registers a Qt Test executable with CTest. GUI tests run on the offscreen
# platform. Test data is found through MAGPIE_TEST_DATA (a compile-time path).
function(magpie_add_test name)
    cmake_parse_arguments(T "GUI" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE Magpie::Options Qt6::Test ${T_LIBS})
    target_compile_definitions(${name} PRIVATE
        MAGPIE_TEST_DATA="${PROJECT_SOURCE_DIR}/tests/data"
        MAGPIE_BINARY_DIR="${PROJECT_BINARY_DIR}"
        MAGPIE_SAMPLE_DIR="${PROJECT_SOURCE_DIR}/resources/sample")
    add_test(NAME ${name} COMMAND ${name})
    set(_env "QT_QPA_PLATFORM=offscreen")
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 300)
    endif()
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${_env}" TIMEOUT ${T_TIMEOUT})
    if(T_LABELS)
        set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
    endif()
endfunction()
