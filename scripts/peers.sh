#!/usr/bin/env bash
# Installs the external peers wooo's tests check against, each only when missing. Sourced by scripts/test.sh.
# Everything comes from the ordinary package registries (Debian, PyPI, npm) by package name.

peer_note() { printf '    peer: %s\n' "$*"; }

# The peers each stage of the project needs are added here, with the tests that use them.
install_peers() {
  printf '\n==> peers\n'
  mkdir -p "$WOOO_PEERS_DIR"
  peer_note "none needed yet: the suite runs against the in-memory simulator"
}
