#!/usr/bin/env bash
# wooo's one test command (README: "Run every test"). It installs the external peers the suite checks against
# when they are missing, then runs formatting, lints, docs and every test (unit, doc, conformance, scenario).
#
# Environment:
#   WOOO_REQUIRE_PEERS  set to 1 here: a test whose peer is missing fails instead of skipping.
#   WOOO_SKIP_INSTALL   set to 1 to install nothing (the tests then fail loudly if a peer is missing).
#   CARGO_TARGET_DIR    honoured as usual; .ci/run points it outside the clone so CI runs stay incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

export WOOO_REQUIRE_PEERS=1
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export WOOO_PEERS_DIR="${WOOO_PEERS_DIR:-$HOME/.cache/wooo/peers}"

step() { printf '\n==> %s\n' "$*"; }

if [ "${WOOO_SKIP_INSTALL:-0}" != 1 ]; then
  # shellcheck source=scripts/peers.sh
  source scripts/peers.sh
  install_peers
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (broken links and missing docs are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps --quiet

step "cargo test (unit, doc, conformance, scenario)"
cargo test --workspace --all-features

step "quickstart (README's first command) runs and reports"
quickstart_out=$(cargo run --quiet --example quickstart)
printf '%s\n' "$quickstart_out" | tail -n 8
printf '%s\n' "$quickstart_out" | grep -q "^Done\." || { echo "quickstart did not finish its report" >&2; exit 1; }
