#!/usr/bin/env python3
"""Prints the module import graph of a crate and fails if it has a cycle.

    python3 scripts/import_cycles.py wskit/src wskit-core/src

A node is a module file (`server/dispatch.rs` is `server::dispatch`, `server/mod.rs` is `server`).
An edge A -> B is any path in A's code (a `use`, or an inline `crate::..`/`super::..` path) that
names module B or an item defined in B's file. A path naming an item re-exported by a `mod.rs`
(`super::Connection`) counts as an edge to that `mod.rs`, since that is what it reads. Test
modules (`#[cfg(test)] mod tests { .. }` at the end of a file, and files only compiled under
`cfg(test)`) are left out: they are allowed to reach anything. Doc comments are ignored.

Exit status 1 and the cycles printed when some strongly connected component has more than one
module, 0 otherwise.
"""

import os
import re
import sys


def modules(root):
    """Maps module path (tuple) -> file, for every .rs file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            out[tuple(parts)] = os.path.join(dirpath, f)
    return out


def code_of(path):
    text = open(path).read()
    # Drop the unit-test module: from `#[cfg(test)]` followed by `mod` to the end of the file.
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod \w+ \{", text, re.M)
    if m:
        text = text[: m.start()]
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("//")]
    return "\n".join(lines)


def test_only(root_mods):
    """Modules declared under #[cfg(test)] in their parent."""
    skip = set()
    for mod, path in root_mods.items():
        text = open(path).read()
        for m in re.finditer(r"#\[cfg\(test\)\]\s*\n\s*(?:pub(?:\([^)]*\))? )?mod (\w+);", text):
            skip.add(mod + (m.group(1),))
    return skip


def paths_in(code):
    """Every `crate::a::b` / `super::a` / `self::a` path, with `use` groups expanded."""
    found = []
    for m in re.finditer(r"\buse\s+([^;]+);", code, re.S):
        found.extend(expand(re.sub(r"\s+", "", m.group(1))))
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", code):
        found.append(m.group(1).split("::"))
    return found


def expand(tree):
    """Expands `a::{b, c::{d}}` into [[a, b], [a, c, d]]."""
    if "{" not in tree:
        return [[p for p in tree.split(" as ")[0].split("::") if p]]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    prefix = [p for p in head.split("::") if p]
    out = []
    for p in parts:
        for sub in expand(p):
            out.append(prefix + [x for x in sub if x != "self"] if sub != ["self"] else prefix)
    return out


def resolve(mod, path, mods):
    """The module a path reads from, or None when it leaves the crate."""
    if path[0] == "crate":
        base, rest = (), path[1:]
    elif path[0] == "super":
        base, rest = mod, path
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif path[0] == "self":
        base, rest = mod, path[1:]
    elif tuple(mod) + (path[0],) in mods:
        base, rest = mod, path  # a child module named without `self::`
    else:
        return None
    target = tuple(base)
    for p in rest:
        if target + (p,) in mods:
            target = target + (p,)
        else:
            break
    return target


def main(roots):
    failed = False
    for root in roots:
        mods = modules(root)
        skip = test_only(mods)
        mods = {m: p for m, p in mods.items() if not any(m[: len(s)] == s for s in skip)}
        edges = {m: set() for m in mods}
        for mod, path in mods.items():
            for p in paths_in(code_of(path)):
                t = resolve(mod, p, mods)
                if t is None or t == mod:
                    continue
                edges[mod].add(t)
        cycles = sccs(edges)
        name = lambda m: "::".join(m) or "crate"
        print(f"{root}: {len(mods)} modules, {sum(len(v) for v in edges.values())} edges")
        for c in cycles:
            failed = True
            print("  cycle:", ", ".join(sorted(name(m) for m in c)))
            for a in sorted(c):
                for b in sorted(edges[a] & c):
                    print(f"    {name(a)} -> {name(b)}")
    return 1 if failed else 0


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            visit(v)
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["wskit/src", "wskit-core/src"]))
