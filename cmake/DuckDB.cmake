# Fetches the pinned DuckDB build from the npm registry at configure time: the prebuilt
# libduckdb.so (Parquet, JSON, ICU built in) from @duckdb/node-bindings-linux-x64 and the matching
# duckdb.h from the duckdb package. Both tarballs are checked against pinned SHA-256 sums and
# unpacked into the (git-ignored) build tree; nothing of them is committed.
set(CDLT_DUCKDB_BINDINGS_VERSION "1.4.4-r.4")
set(CDLT_DUCKDB_HEADER_VERSION "1.4.4")
set(CDLT_DUCKDB_BINDINGS_SHA256 "732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b")
set(CDLT_DUCKDB_HEADER_SHA256 "5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed")

set(CDLT_DUCKDB_CACHE "${CMAKE_SOURCE_DIR}/.deps/duckdb-${CDLT_DUCKDB_BINDINGS_VERSION}"
    CACHE PATH "Where the pinned DuckDB library and header are unpacked")

function(cdlt_fetch_npm_tarball spec file sha)
  set(tarball "${CDLT_DUCKDB_CACHE}/${file}")
  if(EXISTS "${tarball}")
    file(SHA256 "${tarball}" have)
    if(have STREQUAL sha)
      return()
    endif()
    file(REMOVE "${tarball}")
  endif()
  find_program(NPM_EXECUTABLE npm REQUIRED)
  message(STATUS "Fetching ${spec} from the npm registry")
  execute_process(
    COMMAND "${NPM_EXECUTABLE}" pack "${spec}" --silent --pack-destination "${CDLT_DUCKDB_CACHE}"
    WORKING_DIRECTORY "${CDLT_DUCKDB_CACHE}"
    RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0 OR NOT EXISTS "${tarball}")
    message(FATAL_ERROR "npm pack ${spec} failed (exit ${rc}); is the npm registry reachable?")
  endif()
  file(SHA256 "${tarball}" have)
  if(NOT have STREQUAL sha)
    file(REMOVE "${tarball}")
    message(FATAL_ERROR "${spec}: checksum mismatch (got ${have}, pinned ${sha})")
  endif()
endfunction()

file(MAKE_DIRECTORY "${CDLT_DUCKDB_CACHE}")
set(CDLT_DUCKDB_LIB "${CDLT_DUCKDB_CACHE}/lib/libduckdb.so")
set(CDLT_DUCKDB_INCLUDE "${CDLT_DUCKDB_CACHE}/include")
if(NOT EXISTS "${CDLT_DUCKDB_LIB}" OR NOT EXISTS "${CDLT_DUCKDB_INCLUDE}/duckdb.h")
  cdlt_fetch_npm_tarball("@duckdb/node-bindings-linux-x64@${CDLT_DUCKDB_BINDINGS_VERSION}"
                         "duckdb-node-bindings-linux-x64-${CDLT_DUCKDB_BINDINGS_VERSION}.tgz"
                         "${CDLT_DUCKDB_BINDINGS_SHA256}")
  cdlt_fetch_npm_tarball("duckdb@${CDLT_DUCKDB_HEADER_VERSION}"
                         "duckdb-${CDLT_DUCKDB_HEADER_VERSION}.tgz" "${CDLT_DUCKDB_HEADER_SHA256}")
  set(unpack "${CDLT_DUCKDB_CACHE}/unpack")
  file(REMOVE_RECURSE "${unpack}")
  file(MAKE_DIRECTORY "${unpack}/bindings" "${unpack}/header")
  file(ARCHIVE_EXTRACT
       INPUT "${CDLT_DUCKDB_CACHE}/duckdb-node-bindings-linux-x64-${CDLT_DUCKDB_BINDINGS_VERSION}.tgz"
       DESTINATION "${unpack}/bindings" PATTERNS "package/libduckdb.so")
  file(ARCHIVE_EXTRACT INPUT "${CDLT_DUCKDB_CACHE}/duckdb-${CDLT_DUCKDB_HEADER_VERSION}.tgz"
       DESTINATION "${unpack}/header" PATTERNS "package/src/duckdb/src/include/duckdb.h")
  file(MAKE_DIRECTORY "${CDLT_DUCKDB_CACHE}/lib" "${CDLT_DUCKDB_INCLUDE}")
  file(RENAME "${unpack}/bindings/package/libduckdb.so" "${CDLT_DUCKDB_LIB}")
  file(RENAME "${unpack}/header/package/src/duckdb/src/include/duckdb.h"
       "${CDLT_DUCKDB_INCLUDE}/duckdb.h")
  file(REMOVE_RECURSE "${unpack}")
endif()

add_library(duckdb SHARED IMPORTED GLOBAL)
set_target_properties(duckdb PROPERTIES
  IMPORTED_LOCATION "${CDLT_DUCKDB_LIB}"
  IMPORTED_NO_SONAME FALSE
  INTERFACE_INCLUDE_DIRECTORIES "${CDLT_DUCKDB_INCLUDE}")
set(CDLT_DUCKDB_LIB_DIR "${CDLT_DUCKDB_CACHE}/lib")
