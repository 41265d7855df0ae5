# FAISS as one imported target, Magpie::Faiss, and MAGPIE_HAVE_FAISS.
# Debian's libfaiss-dev (1.7.3) is a static libfaiss.a built with OpenMP and
# BLAS/LAPACK. Its faiss-config.cmake names OpenMP::OpenMP_CXX without
# finding OpenMP itself, so OpenMP is found first; without the config file
# (another packaging) the library and headers are found directly. FAISS is
# optional: without it the similarity index answers every query exactly.
option(MAGPIE_WITH_FAISS "Use FAISS for approximate similarity search over large libraries" ON)
set(MAGPIE_HAVE_FAISS OFF)
add_library(Magpie::Faiss INTERFACE IMPORTED)
if(MAGPIE_WITH_FAISS)
    find_package(OpenMP QUIET COMPONENTS CXX)
    if(OpenMP_CXX_FOUND)
        find_package(faiss CONFIG QUIET)
    endif()
    if(TARGET faiss)
        target_link_libraries(Magpie::Faiss INTERFACE faiss)
        set(MAGPIE_HAVE_FAISS ON)
    else()
        find_path(MAGPIE_FAISS_INCLUDE faiss/IndexIVF.h)
        find_library(MAGPIE_FAISS_LIBRARY faiss)
        find_package(BLAS QUIET)
        find_package(LAPACK QUIET)
        if(MAGPIE_FAISS_INCLUDE AND MAGPIE_FAISS_LIBRARY AND OpenMP_CXX_FOUND AND BLAS_FOUND AND LAPACK_FOUND)
            target_include_directories(Magpie::Faiss SYSTEM INTERFACE ${MAGPIE_FAISS_INCLUDE})
            target_link_libraries(Magpie::Faiss INTERFACE ${MAGPIE_FAISS_LIBRARY} OpenMP::OpenMP_CXX
                ${LAPACK_LIBRARIES} ${BLAS_LIBRARIES})
            set(MAGPIE_HAVE_FAISS ON)
        endif()
    endif()
endif()
if(MAGPIE_HAVE_FAISS)
    target_compile_definitions(Magpie::Faiss INTERFACE MAGPIE_HAVE_FAISS=1)
    message(STATUS "FAISS: found (approximate similarity search beyond the exact threshold)")
else()
    message(STATUS "FAISS: not found (apt install libfaiss-dev); similarity search stays exact")
endif()
