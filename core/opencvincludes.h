#pragma once
// The one place core/ includes OpenCV. Only core/*.cpp include this file;
// no public header of Magpie exposes an OpenCV type.
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
