#!/usr/bin/env bash
# Installs the Debian 12 packages tessera needs to build, test and run its
# demo, when any is missing. Sourced by scripts/test.sh and scripts/demo.sh.
TSR_PACKAGES=(
  build-essential cmake pkg-config
  libczmq-dev libzmq3-dev libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
  libpq-dev postgresql postgresql-client libmicrohttpd-dev libsodium-dev libssl-dev openssl
  libcmocka-dev libp11-dev softhsm2 libgfshare-dev libgfshare-bin
  python3 python3-zmq python3-protobuf python3-psycopg2 python3-pytest python3-cryptography python3-nacl
  curl ca-certificates
  pcscd vsmartcard-vpcd libpcsclite-dev opensc yubico-piv-tool python3-pyscard
  libcurl4-openssl-dev libhpdf-dev poppler-utils python3-aiosmtpd
  chromium nodejs
  clang libclang-rt-14-dev
  docker-compose prometheus python3-yaml
)

tsr_install_deps() {
  local missing=()
  for package in "${TSR_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}
