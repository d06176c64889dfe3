import { lstat, stat } from "node:fs/promises";

/**
 * Whether there is something at `path`. A symbolic link counts as what it points to (a dangling one as nothing);
 * with `followLinks: false` the link itself counts, dangling or not.
 */
export async function exists(path: string, options: { followLinks?: boolean } = {}): Promise<boolean> {
  try {
    await (options.followLinks === false ? lstat(path) : stat(path));
    return true;
  } catch {
    return false;
  }
}
