# A virtual router appliance for the container suite (test/containers), like the lab's router
# namespace (test/vr-manager/router-lab.ts): sshd on port 3922, key authentication only, for
# the vr-manager that deploys /opt/sdn-router and applies iptables and haproxy through it
# (conntrack cuts the connections a rule change revokes); dnsmasq serves the guests DHCP and DNS;
# conntrackd synchronises a redundant pair's connection tracking (the router program runs it).
# The same image serves the suite's "VMs" and "internet" hosts (python3 runs their probes).
# Built by scripts/build-base-images.sh; run it with NET_ADMIN and a writable /proc/sys (the router
# program sets ip_forward), as test/containers/router-lab.ts does.
ARG DEBIAN_IMAGE=local/debian:bookworm
FROM ${DEBIAN_IMAGE}
# Every router makes its own host key when it starts (router-init): none is baked into the image.
RUN apt-get update -qq \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    openssh-server iptables haproxy conntrack conntrackd dnsmasq python3 iproute2 \
  && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* \
  && rm -f /etc/ssh/ssh_host_* \
  && mkdir -p /run/sshd /opt/sdn-router /root/.ssh && chmod 700 /root/.ssh \
  && printf '%s\n' 'Port 3922' 'PermitRootLogin prohibit-password' 'PasswordAuthentication no' \
    'KbdInteractiveAuthentication no' 'UsePAM no' 'HostKey /etc/ssh/ssh_host_ed25519_key' \
    >/etc/ssh/sshd_config.d/sdn-router.conf
COPY router-init /usr/local/sbin/router-init
# The key the vr-manager logs in with goes in SDN_AUTHORIZED_KEY (GET /v1/routers/ssh-key).
CMD ["/usr/local/sbin/router-init"]
