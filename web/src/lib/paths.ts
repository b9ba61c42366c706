/** The folders from a host path's root down to it, each with its own path: "/a/b" → "/", "/a", "/a/b"; "D:\\a" → "D:\\", "D:\\a". */
export function breadcrumbs(path: string): { name: string; path: string }[] {
  const windows = /^[A-Za-z]:\\/.test(path);
  const separator = windows ? "\\" : "/";
  const root = windows ? path.slice(0, 3) : "/";
  const parts = path.slice(root.length).split(separator).filter((part) => part.length > 0);
  const crumbs = [{ name: root, path: root }];
  let current = root;
  for (const part of parts) {
    current = current.endsWith(separator) ? `${current}${part}` : `${current}${separator}${part}`;
    crumbs.push({ name: part, path: current });
  }
  return crumbs;
}

/** The last name of a path (a folder's own name in its parent's listing). */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((part) => part.length > 0);
  return parts.at(-1) ?? path;
}
