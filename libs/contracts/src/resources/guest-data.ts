import Type from "@sdn/typebox";

/**
 * What the virtual router serves a guest besides its address (docs/guest-services.md): the
 * name it gets in DHCP and DNS, its user data and SSH keys (CloudStack's metadata service),
 * and the DNS domain of its network.
 */

export const Hostname = Type.String({
  pattern: "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
  maxLength: 63,
  description:
    "The guest's host name (one DNS label): handed out by DHCP, resolvable as <hostname>.<network domain>, " +
    "served as local-hostname. Default: the VM id when it is a valid label, else host-<address with dashes>",
  examples: ["web-1"],
});

/** CloudStack's limit: 32 KiB of user data (before base64). */
export const USER_DATA_MAX_BYTES = 32768;

export const UserData = Type.String({
  // 32 KiB of data is 43,692 characters of base64 (4 per 3 bytes, padded).
  maxLength: Math.ceil(USER_DATA_MAX_BYTES / 3) * 4,
  pattern: "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
  description:
    "User data for the guest, base64 (at most 32 KiB decoded), served at http://<router>/latest/user-data; " +
    "empty: none",
  examples: ["I2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogd2ViLTEK"],
});

export const SshPublicKey = Type.String({
  pattern:
    "^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\\.com) [A-Za-z0-9+/]+={0,3}( [^\\r\\n]{0,256})?$",
  maxLength: 16384,
  description: "An OpenSSH public key line",
  examples: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG1vY2sga2V5IGZvciBkb2NzIG9ubHkgMDAwMDAw admin@example"],
});

export const PublicKeys = Type.Array(SshPublicKey, {
  maxItems: 16,
  description: "SSH public keys served as public-keys in the guest's metadata; empty: none",
});

export const DnsDomain = Type.String({
  pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$",
  maxLength: 200,
  description:
    "DNS domain of the network's guests (lower case): the router resolves <hostname>.<domain> and hands the " +
    "domain out by DHCP. Default: the network's name made a DNS label, then .internal",
  examples: ["web-tier.internal"],
});

/**
 * The default DNS domain of a network: its name as one DNS label (lower case, every other
 * character a dash) under `.internal`, the TLD reserved for private use; `net-<id>` when
 * the name has nothing usable.
 */
export const defaultDomain = (network: { id: string; name: string }): string => {
  const label = network.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)
    .replace(/-+$/, "");
  return `${label === "" ? `net-${network.id.slice(0, 8)}` : label}.internal`;
};
