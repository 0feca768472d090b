import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * A CPython interpreter of the given minor version from pyenv (PYENV_ROOT or ~/.pyenv),
 * which these machines carry for 2.7 and 3.6 (the Pythons of XCP-ng 8.2 and of XenServer
 * 8 / XCP-ng 8.3 control domains); undefined when none is installed.
 */
export const pyenvPython = (version: "2.7" | "3.6"): string | undefined => {
  const root = join(process.env["PYENV_ROOT"] ?? join(homedir(), ".pyenv"), "versions");
  if (!existsSync(root)) return undefined;
  const match = readdirSync(root)
    .filter((v) => v.startsWith(`${version}.`))
    .sort()
    .pop();
  const bin = match === undefined ? undefined : join(root, match, "bin", "python");
  return bin !== undefined && existsSync(bin) ? bin : undefined;
};
