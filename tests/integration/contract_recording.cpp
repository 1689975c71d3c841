// SPDX-License-Identifier: Apache-2.0
// Every integration test records what it receives from dialtoned, for the contract check that
// runs once they are all done (contract.check: tests/contract/validate.mjs).
#include "support/build_paths.hpp"
#include "support/harness.hpp"

namespace {

[[maybe_unused]] const bool kRecording =
    (dialtone::test::record_contract_to(dialtone::build_paths::contract_records), true);

}  // namespace
