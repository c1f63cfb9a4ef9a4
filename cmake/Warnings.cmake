function(cdlt_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports false -Wrestrict positives inside libstdc++'s std::string operator+ at -O2
    # (GCC bug 105329); the warning is off for GCC only.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
endfunction()
