// SPDX-License-Identifier: Apache-2.0
#pragma once
// Where this build's tests find the source tree and the programs they start: defined in a file
// CMake generates (cmake/build_paths.cmake; tests/support/CMakeLists.txt), not by -D on every
// compile line, so that a build in another directory finds its objects in the compiler cache.
namespace dialtone::build_paths {
extern const char* const source_dir;        // the source tree (test data, conf/, web/, deploy/)
extern const char* const dialtoned;         // the server
extern const char* const dialtone_cli;      // the command-line client
extern const char* const libdialtone;       // the SDK's shared library (the C ABI)
extern const char* const bench;             // the load generator ("" when not built)
extern const char* const node;              // Node, for the fake push services
extern const char* const contract_records;  // where the integration tests record the contract
extern const char* const pg_template;       // the PostgreSQL template cluster's directory name
}  // namespace dialtone::build_paths
