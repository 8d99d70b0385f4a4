/**
 * Trees (format.md §9.7): one tree blob per directory, canonical JSON
 *
 *   { "nodes": [ node, … ] }   sorted by name, names unique
 *   node = { "name", "type": "file" | "dir" | "symlink", "mode", "mtime" (ns since epoch, decimal string),
 *            "size" and either "content" (blob ids, hex) or "contentList" (the root of a list of
 *            them, content-list.ts) for files, "subtree" (tree blob id) for dirs, "target" for symlinks }
 *
 * Decoding validates everything a restore will trust: a name can never climb out
 * of its directory, whatever the tree says.
 */
import { fail } from '@coffer/core';

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  readonly name: string;
  readonly type: NodeType;
  readonly mode: number;
  readonly mtime: string;
  readonly size?: number;
  readonly content?: readonly string[];
  /** Instead of `content`, for files with many chunks: the id of their content list's root (format.md §9.12). */
  readonly contentList?: string;
  readonly subtree?: string;
  readonly target?: string;
}

export interface Tree {
  readonly nodes: readonly TreeNode[];
}

const HEX_ID = /^[0-9a-f]{64}$/;
const NS = /^(0|[1-9][0-9]{0,21})$/;

export function encodeTree(tree: Tree): Uint8Array {
  const nodes = [...tree.nodes].sort((a, b) => compareNames(a.name, b.name));
  for (const node of nodes) checkNode(node, 'new tree');
  checkUnique(nodes, 'new tree');
  // Fixed key order makes equal directories encode to equal bytes, so they dedup.
  const canonical = nodes.map((n) => ({
    name: n.name,
    type: n.type,
    mode: n.mode,
    mtime: n.mtime,
    ...(n.type === 'file' ? { size: n.size, ...(n.contentList === undefined ? { content: n.content } : { contentList: n.contentList }) } : {}),
    ...(n.type === 'dir' ? { subtree: n.subtree } : {}),
    ...(n.type === 'symlink' ? { target: n.target } : {}),
  }));
  return new TextEncoder().encode(JSON.stringify({ nodes: canonical }));
}

export function decodeTree(bytes: Uint8Array, where: string): Tree {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    return fail('E_FORMAT', `${where}: not a tree (invalid JSON)`, cause);
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { nodes?: unknown }).nodes)) fail('E_FORMAT', `${where}: not a tree`);
  const nodes = (parsed as { nodes: unknown[] }).nodes.map((node) => {
    checkNode(node, where);
    return node;
  });
  checkUnique(nodes, where);
  for (let i = 1; i < nodes.length; i++) {
    if (compareNames((nodes[i - 1] as TreeNode).name, (nodes[i] as TreeNode).name) >= 0) fail('E_FORMAT', `${where}: nodes are not sorted`);
  }
  return { nodes };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkUnique(nodes: readonly TreeNode[], where: string): void {
  const names = new Set(nodes.map((n) => n.name));
  if (names.size !== nodes.length) fail('E_FORMAT', `${where}: two entries share a name`);
}

function checkNode(value: unknown, where: string): asserts value is TreeNode {
  if (typeof value !== 'object' || value === null) fail('E_FORMAT', `${where}: a node is not an object`);
  const n = value as Record<string, unknown>;
  const name = n.name;
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0') || name.length > 4096) {
    fail('E_FORMAT', `${where}: invalid entry name`);
  }
  if (typeof n.mode !== 'number' || !Number.isInteger(n.mode) || n.mode < 0 || n.mode > 0o7777) fail('E_FORMAT', `${where}: invalid mode for ${name}`);
  if (typeof n.mtime !== 'string' || !NS.test(n.mtime)) fail('E_FORMAT', `${where}: invalid mtime for ${name}`);
  switch (n.type) {
    case 'file':
      if (typeof n.size !== 'number' || !Number.isSafeInteger(n.size) || n.size < 0) fail('E_FORMAT', `${where}: invalid size for ${name}`);
      // Exactly one of the two: inline ids, or the id of a content list.
      if (n.contentList !== undefined) {
        if (n.content !== undefined || typeof n.contentList !== 'string' || !HEX_ID.test(n.contentList)) fail('E_FORMAT', `${where}: invalid content list for ${name}`);
      } else if (!Array.isArray(n.content) || !n.content.every((id) => typeof id === 'string' && HEX_ID.test(id))) {
        fail('E_FORMAT', `${where}: invalid content for ${name}`);
      }
      break;
    case 'dir':
      if (typeof n.subtree !== 'string' || !HEX_ID.test(n.subtree)) fail('E_FORMAT', `${where}: invalid subtree for ${name}`);
      break;
    case 'symlink':
      if (typeof n.target !== 'string' || n.target.includes('\0')) fail('E_FORMAT', `${where}: invalid link target for ${name}`);
      break;
    default:
      fail('E_FORMAT', `${where}: unknown node type for ${name}`);
  }
}
