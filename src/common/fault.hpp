#pragma once

#include <string_view>

namespace cdlt {

/// Crash-test hook: when the environment variable CDLT_FAULT_POINT equals `name` (optionally
/// `name:N` to fire on the N-th pass, counting from 1), the process kills itself with SIGKILL
/// right there. Points: extract.after_file, normalize.after_file, normalize.before_commit,
/// load.after_job_commit, load.after_job, load.before_complete, load.after_complete.
void FaultPoint(std::string_view name);

}  // namespace cdlt
