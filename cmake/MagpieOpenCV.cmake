# OpenCV core + imgproc + imgcodecs as one imported target, Magpie::OpenCV.
# Debian ships OpenCVConfig.cmake only in the big libopencv-dev meta package;
# the three -dev packages Magpie needs have headers and libraries but no
# config file, so fall back to finding them directly.
find_package(OpenCV 4 QUIET COMPONENTS core imgproc imgcodecs)
add_library(Magpie::OpenCV INTERFACE IMPORTED)
if(OpenCV_FOUND)
    target_link_libraries(Magpie::OpenCV INTERFACE ${OpenCV_LIBS})
    target_include_directories(Magpie::OpenCV SYSTEM INTERFACE ${OpenCV_INCLUDE_DIRS})
else()
    find_path(MAGPIE_OPENCV_INCLUDE opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
    foreach(m core imgproc imgcodecs)
        find_library(MAGPIE_OPENCV_${m} opencv_${m} REQUIRED)
        target_link_libraries(Magpie::OpenCV INTERFACE ${MAGPIE_OPENCV_${m}})
    endforeach()
    target_include_directories(Magpie::OpenCV SYSTEM INTERFACE ${MAGPIE_OPENCV_INCLUDE})
    message(STATUS "OpenCV: ${MAGPIE_OPENCV_core} (headers ${MAGPIE_OPENCV_INCLUDE})")
endif()
