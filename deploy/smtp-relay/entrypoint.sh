#!/bin/sh
# Configures Postfix as a relay for the compose network, then runs it in the
# foreground. RELAY_HOST: where mail goes, e.g. "[smtp.example.org]:587"
# (empty: deliver directly, by MX, which few networks allow).
# RELAY_TLS: Postfix's smtp_tls_security_level toward it (default "encrypt").
# RELAY_PASSWORD_FILE: optional "host user:password" lines (a secret) for
# SASL toward the relay host.
set -eu
postconf -e \
  "myhostname=${RELAY_HOSTNAME:-tessera-smtp-relay}" \
  "mydestination=" \
  "relayhost=${RELAY_HOST:-}" \
  "mynetworks_style=subnet" \
  "smtpd_relay_restrictions=permit_mynetworks,reject" \
  "smtpd_recipient_restrictions=permit_mynetworks,reject" \
  "smtp_tls_security_level=${RELAY_TLS:-encrypt}" \
  "smtpd_tls_security_level=none" \
  "smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt" \
  "maillog_file=/dev/stdout" \
  "inet_protocols=ipv4"
if [ -n "${RELAY_PASSWORD_FILE:-}" ]; then
  install -m 0600 "$RELAY_PASSWORD_FILE" /etc/postfix/sasl_passwd
  postmap /etc/postfix/sasl_passwd
  postconf -e "smtp_sasl_auth_enable=yes" \
              "smtp_sasl_password_maps=hash:/etc/postfix/sasl_passwd" \
              "smtp_sasl_security_options=noanonymous"
fi
# The resolver files the chroot'ed daemons read.
cp /etc/resolv.conf /etc/hosts /etc/services /var/spool/postfix/etc/ 2>/dev/null || true
exec postfix start-fg
