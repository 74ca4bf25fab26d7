# syntax=docker/dockerfile:1
#
# The SMTP relay of docker-compose.yml: Debian 12's Postfix, accepting mail
# from the compose network only and handing it to RELAY_HOST (your
# organisation's mail server). tessera-mail talks to it at smtp://smtp-relay:25.
#
# This is the one image that starts as root: Postfix's master process must
# (to bind port 25 and set up its queue), and it runs every daemon that reads
# network input as the unprivileged `postfix` user itself. It is not a
# tessera service and holds no tessera secret.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      postfix libsasl2-modules ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/smtp-relay/entrypoint.sh /usr/local/bin/smtp-relay-entrypoint
EXPOSE 25
HEALTHCHECK --interval=30s --timeout=5s CMD ["postfix", "status"]
ENTRYPOINT ["/usr/local/bin/smtp-relay-entrypoint"]
