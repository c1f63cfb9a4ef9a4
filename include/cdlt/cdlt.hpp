#pragma once

/// The public C++ API of cdlt.

#include "cdlt/batch.hpp"     // IWYU pragma: export
#include "cdlt/pipeline.hpp"  // IWYU pragma: export
#include "cdlt/resource.hpp"  // IWYU pragma: export
