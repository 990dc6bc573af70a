#!/usr/bin/env bash
# Installs the external peers wooo's tests check against, each only when missing. Sourced by scripts/test.sh.
# Everything comes from the ordinary package registries (Debian, PyPI, npm) by package name, into
# $WOOO_PEERS_DIR (a cache outside the clone) or, for Debian packages, the system.
#
# | peer                         | from   | used by (tests/suite/…)                                      |
# |------------------------------|--------|--------------------------------------------------------------|
# | kubernetes-validate          | PyPI   | manifests: core kinds against Kubernetes 1.33 schemas, strict |
# | checkov                      | PyPI   | manifests: security checks, allow-list in tests/checkov-allow |
# | @kubernetes-models/*         | npm    | manifests: Istio, Gateway API, Prometheus Operator, cert-manager |
# | promtool (prometheus)        | Debian | manifests: `promtool check rules` and `promtool test rules`  |
# | prometheus (prometheus)      | Debian | prometheus_usage: a real server over blocks promtool writes  |
# | amtool (prometheus-alertmanager) | Debian | manifests: `amtool check-config` of the routing fragment |
# | moto_server (moto[server])   | PyPI   | aws_*: EKS, EC2, IAM, STS and Cost Explorer of a local AWS    |
# | sshd (openssh-server), sudo  | Debian | k3s: one real OpenSSH server per simulated host (unshare -m)  |

KUBERNETES_VALIDATE_VERSION=1.33.1
CHECKOV_VERSION=3.3.30
MOTO_VERSION=5.2.5

peer_note() { printf '    peer: %s\n' "$*"; }

install_debian_peers() {
  local missing=()
  { command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; } || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  command -v sudo >/dev/null 2>&1 || missing+=(sudo)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  if [ ${#missing[@]} -eq 0 ]; then peer_note "prometheus, promtool, amtool, sshd and sudo present"; return; fi
  peer_note "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_peers() {
  local venv="$WOOO_PEERS_DIR/venv"
  if [ -x "$venv/bin/kubernetes-validate" ] && [ -x "$venv/bin/checkov" ] \
     && "$venv/bin/pip" show kubernetes-validate 2>/dev/null | grep -q "^Version: $KUBERNETES_VALIDATE_VERSION$"; then
    peer_note "kubernetes-validate and checkov present"; return
  fi
  peer_note "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION and checkov $CHECKOV_VERSION (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "checkov==$CHECKOV_VERSION"
}

# moto gets a virtualenv of its own: its boto pins must not move checkov's.
install_moto() {
  local venv="$WOOO_PEERS_DIR/moto-venv"
  if [ -x "$venv/bin/moto_server" ] && "$venv/bin/pip" show moto 2>/dev/null | grep -q "^Version: $MOTO_VERSION$"; then
    peer_note "moto $MOTO_VERSION present"; return
  fi
  peer_note "installing moto[server] $MOTO_VERSION (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

install_node_peers() {
  local dir="$WOOO_PEERS_DIR"
  if [ -d "$dir/node_modules/@kubernetes-models/istio" ] && [ -d "$dir/node_modules/@kubernetes-models/cert-manager" ] \
     && [ -d "$dir/node_modules/@kubernetes-models/gateway-api" ] \
     && [ -d "$dir/node_modules/@kubernetes-models/prometheus-operator" ]; then
    peer_note "@kubernetes-models validators present"; return
  fi
  peer_note "installing @kubernetes-models validators (npm)"
  ( cd "$dir" && { [ -f package.json ] || npm init -y >/dev/null; } \
    && npm install --silent --no-audit --no-fund \
      @kubernetes-models/istio@3 @kubernetes-models/gateway-api@2 \
      @kubernetes-models/prometheus-operator@6 @kubernetes-models/cert-manager@6 )
}

install_peers() {
  printf '\n==> peers (into %s)\n' "$WOOO_PEERS_DIR"
  mkdir -p "$WOOO_PEERS_DIR"
  install_debian_peers
  install_python_peers
  install_moto
  install_node_peers
}
